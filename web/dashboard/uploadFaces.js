/* global createImageBitmap */
// A small preview of an uploaded photo with the faces the server found: the face it enrolled
// outlined in green, the faces it ignored or that made it refuse the photo dashed, so an operator
// sees at a glance whether the right person was taken from a press photo.
import { el } from './dom.js';

const WIDTH = 160;

/** The faces of a report to draw: [{box, kind: 'taken'|'ignored'|'found'}]; empty when there is nothing to show. */
export function facesOf(report) {
  if (report.face && report.ignored?.length) {
    return [{ box: report.face.box, kind: 'taken' }, ...report.ignored.map((f) => ({ box: f.box, kind: 'ignored' }))];
  }
  return (report.faces ?? []).map((f) => ({ box: f.box, kind: 'found' }));
}

/** A canvas of the file with the report's faces; null when the report has none worth showing. */
export async function facePreview(file, report) {
  const faces = facesOf(report);
  if (faces.length === 0) return null;
  // The browser applies EXIF orientation as the server's decoder does, so boxes line up.
  const bitmap = await createImageBitmap(file).catch(() => null);
  if (!bitmap) return null;
  const scale = WIDTH / bitmap.width;
  const canvas = el('canvas', { class: 'upload-faces', width: WIDTH, height: Math.round(bitmap.height * scale) });
  const g = canvas.getContext('2d');
  g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  for (const { box, kind } of faces) {
    g.setLineDash(kind === 'taken' ? [] : [4, 3]);
    g.strokeStyle = kind === 'taken' ? '#3fb950' : kind === 'ignored' ? '#c9d1d9' : '#f0883e';
    g.lineWidth = 2;
    g.strokeRect(box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale);
  }
  canvas.title =
    report.face && report.ignored?.length
      ? `green: the face enrolled (${report.face.side} px); dashed: ${report.ignored.length} smaller face(s) ignored`
      : `the ${faces.length} faces found, of comparable size`;
  return canvas;
}
