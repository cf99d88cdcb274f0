// Reading uploaded images: a raw body (Content-Type image/*) or multipart/form-data (busboy).
// Everything is held in memory, so the size limit is enforced while reading — a declared
// Content-Length over the limit is refused before a byte is read, and a body that grows past it
// (chunked, or lying) is cut off — and nothing reaches the roster until the whole body is in.
import type { Request } from 'express';
import busboy from 'busboy';
import { basename } from 'node:path';
import { HttpError } from './errors.ts';

export interface UploadedFile {
  /** Form field name ('' for a raw body). */
  field: string;
  /** Client file name, or a made-up one; used in reports. */
  name: string;
  mime: string;
  bytes: Buffer;
}

export interface UploadOptions {
  maxBytes: number;
  /** Most files in one multipart body. */
  maxFiles: number;
}

function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 1)} MB`;
}

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    'PAYLOAD_TOO_LARGE',
    `upload is larger than the ${megabytes(maxBytes)} limit (${maxBytes} bytes, server.maxUploadBytes); downscale or re-encode the image (a JPEG of a face needs well under 1 MB), send fewer files per request, or raise server.maxUploadBytes`,
    { limit: maxBytes },
  );
}

function checkDeclaredLength(req: Request, maxBytes: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
}

/** The raw request body, at most maxBytes. */
export function readRawBody(req: Request, maxBytes: number): Promise<Buffer> {
  checkDeclaredLength(req, maxBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Keep draining (discarding) so the client can finish sending and read the 413.
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(400, 'UPLOAD_FAILED', `upload was interrupted (${err.message}); send it again`));
    };
    // A client that disconnects mid-upload may give 'close' without 'error'.
    const onClose = () => {
      if (!req.complete) onError(new Error('connection closed'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Every file of a multipart/form-data body (text fields are ignored). */
export function readMultipart(req: Request, opts: UploadOptions): Promise<UploadedFile[]> {
  checkDeclaredLength(req, opts.maxBytes);
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: opts.maxFiles, fileSize: opts.maxBytes, fields: 50, fieldSize: 64 * 1024 } });
    } catch (err) {
      reject(new HttpError(400, 'BAD_MULTIPART', `malformed multipart/form-data request (${(err as Error).message})`));
      return;
    }
    const files: UploadedFile[] = [];
    let total = 0;
    let failed = false;
    const fail = (err: HttpError) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      req.resume(); // discard the rest so the client can read the answer
      reject(err);
    };
    // Counted on the raw stream, so many files that are each under the limit still add up.
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > opts.maxBytes) fail(tooLarge(opts.maxBytes));
    });
    const pending: Promise<void>[] = [];
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      const name = basename(info.filename || `${field}#${pending.length + 1}`).slice(0, 200);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(tooLarge(opts.maxBytes)));
      pending.push(
        new Promise((done) => {
          stream.on('end', () => {
            files.push({ field, name, mime: info.mimeType, bytes: Buffer.concat(chunks) });
            done();
          });
          stream.on('error', () => done());
        }),
      );
    });
    bb.on('filesLimit', () => fail(new HttpError(413, 'TOO_MANY_FILES', `at most ${opts.maxFiles} files per request; send the rest in another request`)));
    bb.on('error', (err: Error) => fail(new HttpError(400, 'BAD_MULTIPART', `malformed multipart/form-data body (${err.message})`)));
    bb.on('close', () => {
      // Parts arrive one after another, so `files` is in form order once every stream has ended.
      void Promise.all(pending).then(() => {
        if (!failed) resolve(files);
      });
    });
    const interrupted = (why: string) => fail(new HttpError(400, 'UPLOAD_FAILED', `upload was interrupted (${why}); send it again`));
    req.on('error', (err) => interrupted(err.message));
    req.on('close', () => {
      if (!req.complete) interrupted('connection closed');
    });
    req.pipe(bb);
  });
}

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isMultipart(req: Request): boolean {
  return mediaType(req) === 'multipart/form-data';
}

/**
 * The uploaded images of a request: the files of a multipart body, or the raw body as one file
 * when Content-Type is image/* (or application/octet-stream). Anything else is a 415.
 */
export async function readImages(req: Request, opts: UploadOptions): Promise<UploadedFile[]> {
  const type = mediaType(req);
  if (type === 'multipart/form-data') return readMultipart(req, opts);
  if (type.startsWith('image/') || type === 'application/octet-stream') {
    return [{ field: '', name: 'upload', mime: type, bytes: await readRawBody(req, opts.maxBytes) }];
  }
  throw new HttpError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${type ? `'${type}'` : '(none)'} is not accepted: send the image as the raw body with Content-Type image/jpeg (image/png, …) or as multipart/form-data`,
  );
}
