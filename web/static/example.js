// The example page: shows who is logged in, with login and logout buttons.
const api = '';
const status = document.getElementById('status');
const loginButton = document.getElementById('login');
const logoutButton = document.getElementById('logout');
const accountBox = document.getElementById('account');

function showLoggedOut(message) {
  status.textContent = message;
  loginButton.hidden = false;
  logoutButton.hidden = true;
  accountBox.hidden = true;
}

async function refresh() {
  const result = new URLSearchParams(location.hash.slice(1)).get('gitbook_login');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);

  const response = await fetch(api + '/account', { credentials: 'include' });
  if (response.status === 401) {
    showLoggedOut(result === 'cancelled' ? 'Login cancelled.' : result === 'failed' ? 'Login failed. Try again.' : 'You are not logged in.');
    return;
  }
  const account = await response.json();
  status.textContent = 'Logged in as ' + (account.displayName || account.id);
  accountBox.textContent = JSON.stringify(account, null, 2);
  accountBox.hidden = false;
  loginButton.hidden = true;
  logoutButton.hidden = false;
}

loginButton.addEventListener('click', () => {
  location.assign(api + '/authorize?return_to=' + encodeURIComponent(location.origin + location.pathname));
});
logoutButton.addEventListener('click', async () => {
  await fetch(api + '/logout', { method: 'POST', credentials: 'include', headers: { 'X-Requested-With': 'gitbook-login' } });
  showLoggedOut('You are logged out.');
});

refresh();
