// Reads config/default.json, merges a user file and environment overrides, and validates the result.
// A bad value stops start-up with the field's path and what is wrong, never a half-read config.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../vision/weights.ts';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = { [k: string]: unknown };

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where `over` wins; arrays are replaced, not merged. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(base[k]) ? deepMerge(base[k] as Json, v) : v;
  }
  return out;
}

function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error('top level must be an object');
    return parsed;
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON (${(err as Error).message}); fix the file`);
  }
}

export interface LoadConfigOptions {
  /** A user config file merged over the defaults. */
  file?: string;
  /** Values merged last (from command-line flags). */
  overrides?: Json;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  let raw = readJson(join(PROJECT_ROOT, 'config', 'default.json'));
  const file = opts.file ?? env.FACECAST_CONFIG;
  if (file) raw = deepMerge(raw, readJson(file));
  const fromEnv: Json = {};
  if (env.FACECAST_DATA) fromEnv.dataDir = env.FACECAST_DATA;
  if (env.FACECAST_LOG_LEVEL) fromEnv.logLevel = env.FACECAST_LOG_LEVEL;
  if (env.FACECAST_BACKEND) fromEnv.vision = { backend: env.FACECAST_BACKEND };
  const server: Json = {};
  if (env.FACECAST_API_TOKEN) server.apiToken = env.FACECAST_API_TOKEN;
  if (env.FACECAST_OUTPUT_KEY) server.outputKey = env.FACECAST_OUTPUT_KEY;
  if (env.FACECAST_OPERATOR_PASSWORD) server.operatorPassword = env.FACECAST_OPERATOR_PASSWORD;
  if (env.FACECAST_PORT) server.port = Number(env.FACECAST_PORT);
  if (env.NODE_ENV === 'production') server.production = true;
  if (Object.keys(server).length) fromEnv.server = server;
  raw = deepMerge(raw, fromEnv);
  if (opts.overrides) raw = deepMerge(raw, opts.overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  return parsed.data;
}
