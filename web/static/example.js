// The example page shows who is logged in, with login and logout buttons.
// It reads the login API's address from example-config.json, which the local
// runner serves on each origin. A real site writes the URL into its script.
import { GitBookLogin } from './gitbook-login.js';

const notice = document.getElementById('notice');
const status = document.getElementById('status');
const loginButton = document.getElementById('login');
const logoutButton = document.getElementById('logout');
const accountBox = document.getElementById('account');

const config = await loadConfig();
document.getElementById('mode').textContent = config.mode || 'unknown';
document.getElementById('api').textContent = config.api || 'this origin';

const login = new GitBookLogin({ api: config.api });

loginButton.addEventListener('click', () => login.login());
logoutButton.addEventListener('click', logout);

// A page restored from the back/forward cache still shows the status of
// the moment the visitor left it, so check again.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) {
    refresh();
  }
});

await start();

async function start() {
  try {
    const outcome = await login.handleRedirect();
    if (outcome === 'cancelled') {
      showNotice('Login cancelled.');
    } else if (outcome === 'failed') {
      showNotice('Login failed. Try again.', true);
    }
  } catch (error) {
    showNotice(describe(error), true);
  }
  await refresh();
}

// refresh shows the login status. The page's data-login-state attribute
// ends as logged-in, logged-out or unknown, which the browser tests wait for.
async function refresh() {
  setState('checking');
  let account;
  try {
    account = await login.account();
  } catch (error) {
    showNotice(describe(error), true);
    if (error.code === 'network_error') {
      showLoggedOut('Login status unknown.', 'unknown');
    } else {
      showLoggedOut('You are not logged in.');
    }
    return;
  }
  if (account === null) {
    showLoggedOut('You are not logged in.');
    return;
  }
  status.textContent = `Logged in as ${account.displayName || account.id}`;
  accountBox.textContent = JSON.stringify(account, null, 2);
  accountBox.hidden = false;
  loginButton.hidden = true;
  logoutButton.hidden = false;
  setState('logged-in');
}

async function logout() {
  try {
    await login.logout();
    showNotice('You are logged out.');
  } catch (error) {
    showNotice(describe(error), true);
  }
  await refresh();
}

function showLoggedOut(message, state = 'logged-out') {
  status.textContent = message;
  accountBox.hidden = true;
  loginButton.hidden = false;
  logoutButton.hidden = true;
  setState(state);
}

function setState(state) {
  document.documentElement.dataset.loginState = state;
}

function showNotice(message, isError = false) {
  notice.textContent = message;
  notice.classList.toggle('error', isError);
  notice.hidden = false;
}

function describe(error) {
  switch (error.code) {
    case 'session_expired':
      return 'Your session has expired. Log in again.';
    case 'network_error':
      return 'The login service could not be reached. Check your connection and try again.';
    case 'handoff_failed':
      return `Login failed: ${error.message}`;
    default:
      return error.message || String(error);
  }
}

async function loadConfig() {
  try {
    const response = await fetch('/example-config.json', { cache: 'no-store' });
    if (response.ok) {
      return await response.json();
    }
  } catch {
    // Without the file the API is on this page's origin, as in `make dev`.
  }
  return { api: '', mode: '' };
}
