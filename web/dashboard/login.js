// Operator login: posts the password as JSON and goes on to the dashboard (or the page the
// operator was sent here from, ?next=/dashboard?channel=2) once the server set the session
// cookie. Refusals are shown as the server words them: wrong password, or too many tries (429).
const form = document.getElementById('login');
const error = document.getElementById('login-error');
const button = form.querySelector('button');

/** Only a path on this server: ?next= must never send the operator to another site. */
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/(?!\/)[^\\]*$/.test(next) ? next : '/dashboard';
}

function show(text) {
  error.textContent = text;
  error.hidden = false;
}

async function reason(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (body?.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  if (res.status === 429) return 'too many failed tries: wait a minute, then try again';
  if (res.status === 401) return 'wrong password';
  return `the server answered HTTP ${res.status}`;
}

// Without JavaScript the form post comes back as /login?error=…: say what happened.
const FORM_ERRORS = {
  wrong: 'wrong password',
  'rate-limited': 'too many failed tries from this address: wait a minute, then try again',
  origin: 'log in from this server\'s own login page',
};
const formError = new URLSearchParams(location.search).get('error');
if (formError) show(FORM_ERRORS[formError] ?? formError);

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  error.hidden = true;
  button.disabled = true;
  try {
    const res = await fetch('/login', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ password: form.elements.password.value }),
    });
    if (res.ok) {
      location.assign(nextPage());
      return;
    }
    const why = await reason(res);
    const wait = res.headers.get('retry-after');
    show(res.status === 429 && wait ? `${why} (retry in ${wait} s)` : why);
    form.dataset.status = String(res.status);
    form.elements.password.select();
  } catch (err) {
    show(`cannot reach the server (${err.message}); check that facecast is running`);
  } finally {
    button.disabled = false;
  }
});
