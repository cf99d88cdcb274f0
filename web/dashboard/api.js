/* global XMLHttpRequest, FormData */
// The HTTP API as the dashboard uses it: same-origin requests that carry the operator's session
// cookie (the browser adds the Origin header the server checks on writes). Every failure becomes
// an ApiError with the server's {error: {code, message}} so the operator reads what went wrong;
// a 401 means the session ended, so the page goes back to the login.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function loginAgain() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/** The error of a non-2xx answer, from its JSON body when there is one. */
export function errorFrom(status, text) {
  try {
    const body = JSON.parse(text);
    if (body?.error?.message) {
      const { code, message, ...details } = body.error;
      return new ApiError(status, code ?? `HTTP_${status}`, message, details);
    }
  } catch {
    // not JSON: fall through to the status line
  }
  const snippet = String(text ?? '').trim().slice(0, 200);
  return new ApiError(status, `HTTP_${status}`, snippet || `the server answered HTTP ${status}`);
}

/** api('/api/players', {method: 'POST', json: {...}}) → the parsed JSON body (null for 204). */
export async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json', ...headers } };
  if (json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) init.body = body;
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `cannot reach the server (${err.message}); check that facecast is running`);
  }
  const text = await res.text();
  if (res.status === 401) {
    loginAgain();
    throw errorFrom(401, text);
  }
  if (!res.ok) throw errorFrom(res.status, text);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `${path} did not answer JSON`);
  }
}

/**
 * One file to POST as multipart with upload progress (fetch has none): onProgress(0…1) while
 * sending. Resolves {status, body} for 2xx and for 4xx answers that carry per-file reports
 * (422 "none enrolled"); rejects with an ApiError otherwise.
 */
export function uploadFile(path, field, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.upload.onload = () => onProgress(1);
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', `upload of ${file.name} failed: the connection to the server was lost`));
    xhr.onload = () => {
      if (xhr.status === 401) {
        loginAgain();
        return reject(errorFrom(401, xhr.responseText));
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          return resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) });
        } catch {
          return reject(new ApiError(xhr.status, 'BAD_RESPONSE', `${path} did not answer JSON`));
        }
      }
      reject(errorFrom(xhr.status, xhr.responseText));
    };
    const form = new FormData();
    form.append(field, file, file.name);
    xhr.send(form);
  });
}
