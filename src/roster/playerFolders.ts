// Player folders of `facecast roster import`: face datasets and media kits name a person's folder
// `Firstname_Lastname`; the roster wants a slug id. A folder that already is a valid id keeps it.
import { playerIdSchema, slugify } from './schema.ts';

export interface PlayerFolder {
  /** The folder's name as it is on disk. */
  folder: string;
  id: string;
  /** A display name from the folder name, or null when the folder is a plain id (the roster file or the id names it). */
  name: string | null;
}

/** Folders that archive tools leave behind, never players. */
const NOT_PLAYERS = new Set(['__MACOSX']);

export function isPlayerFolderName(folder: string): boolean {
  return !folder.startsWith('.') && !NOT_PLAYERS.has(folder);
}

/** "Alex_Lacamoire" → {id: "alex-lacamoire", name: "Alex Lacamoire"}; "sheldon" → {id: "sheldon", name: null}. */
export function playerFolder(folder: string): PlayerFolder {
  if (playerIdSchema.safeParse(folder).success) return { folder, id: folder, name: null };
  const id = slugify(folder);
  if (!id) throw new Error(`folder '${folder}' gives no player id (ids use a-z and 0-9); rename it, e.g. Firstname_Lastname`);
  // NFC: macOS hands out decomposed names, which would show accents as separate marks.
  const name = folder.normalize('NFC').replace(/_+/g, ' ').replace(/\s+/g, ' ').trim();
  return { folder, id, name };
}

/** Every player folder mapped to its id; two folders with one id are an error naming both. */
export function playerFolders(folders: readonly string[]): PlayerFolder[] {
  const byId = new Map<string, PlayerFolder>();
  for (const f of folders.filter(isPlayerFolderName).map(playerFolder)) {
    const other = byId.get(f.id);
    if (other) throw new Error(`folders '${other.folder}' and '${f.folder}' both give the player id '${f.id}'; merge them into one folder or rename one`);
    byId.set(f.id, f);
  }
  return [...byId.values()];
}
