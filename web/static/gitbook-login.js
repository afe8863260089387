// gitbook-login.js: lets a static site log visitors in with GitBook through
// the login API of this project. A dependency-free ES module: copy it next to
// your pages and import it; there is no build step.
//
// The same code works in both session modes of the API:
// - same-site: the API keeps the session in an HttpOnly cookie that this
//   module never sees; requests carry it with credentials: 'include'.
// - cross-site: the callback puts a one-time handoff code in the URL fragment;
//   handleRedirect() redeems it at POST /session for an opaque session token,
//   which is sent as "Authorization: Bearer" from then on.
// The session token is the only thing this module stores, in sessionStorage
// (per tab, gone when the tab closes) or, with storage: 'memory', nowhere.

const LOGIN_PARAM = 'gitbook_login';
const HANDOFF_PARAM = 'gitbook_handoff';
const OUTCOMES = ['ok', 'cancelled', 'failed'];
const DEFAULT_STORAGE_KEY = 'gitbook-login.session';

// The API returns 401 with this code when a request carries no session at
// all. Every other 401 means that a session existed and has ended.
const NO_SESSION = 'session_missing';

/**
 * LoginError is thrown for every failure. code is one of:
 * - 'network_error': the API could not be reached, or the browser blocked
 *   the response (CORS: is this page's origin in ALLOWED_ORIGINS?).
 * - 'session_expired': the session ended (expired, logged out elsewhere,
 *   revoked at GitBook). The stored token is already cleared.
 * - 'handoff_failed': the handoff code of a cross-site login could not be
 *   redeemed (already used, expired, or issued to another origin).
 * - 'request_failed': any other error response; status and serverCode tell
 *   which.
 * serverCode is the API's own error code ("" when there was no response).
 */
export class LoginError extends Error {
  constructor(code, message, { status = 0, serverCode = '', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LoginError';
    this.code = code;
    this.status = status;
    this.serverCode = serverCode;
  }
}

export class GitBookLogin {
  #api;
  #storage;
  #storageKey;
  #token;

  /**
   * api: base URL of the login API, such as 'https://login.example.com';
   *   '' (the default) means the page's own origin.
   * storage: 'session' (default) keeps a cross-site session token in
   *   sessionStorage, so it survives reloads of the tab; 'memory' keeps it
   *   only until the page unloads.
   * storageKey: the sessionStorage key of the token.
   */
  constructor({ api = '', storage = 'session', storageKey = DEFAULT_STORAGE_KEY } = {}) {
    if (storage !== 'session' && storage !== 'memory') {
      throw new TypeError(`storage must be 'session' or 'memory', not ${JSON.stringify(storage)}`);
    }
    this.#api = String(api).replace(/\/+$/, '');
    this.#storage = storage === 'session' ? sessionStore() : null;
    this.#storageKey = storageKey;
    this.#token = this.#storage?.getItem(storageKey) || null;
  }

  /**
   * Sends the browser to the API's /authorize, which continues to GitBook.
   * returnTo is where the visitor lands afterwards (default: this page); its
   * origin must be in the API's ALLOWED_ORIGINS. A fragment is dropped,
   * because the API returns the login result in the fragment.
   */
  login(returnTo = location.href) {
    const target = new URL(returnTo, location.href);
    target.hash = '';
    const authorize = `${this.#api}/authorize?return_to=${encodeURIComponent(target.href)}`;
    location.assign(authorize);
  }

  /**
   * Reads the login result that the API appended to this page's URL, removes
   * it from the address bar and, in cross-site mode, redeems the handoff code.
   * Call it once when the page loads, before account().
   * Returns 'ok', 'cancelled' (the visitor denied access), 'failed', or null
   * when the page was not opened by a login. Throws LoginError when a
   * handoff code cannot be redeemed.
   */
  async handleRedirect() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (!fragment.has(LOGIN_PARAM)) {
      return null;
    }
    const marker = fragment.get(LOGIN_PARAM);
    const handoff = fragment.get(HANDOFF_PARAM);

    // Clear the fragment before any request, so that a reload, a bookmark
    // or the Back button never finds the single-use code again.
    fragment.delete(LOGIN_PARAM);
    fragment.delete(HANDOFF_PARAM);
    const rest = fragment.toString();
    const clean = location.pathname + location.search + (rest ? `#${rest}` : '');
    history.replaceState(history.state, '', clean);

    const outcome = OUTCOMES.includes(marker) ? marker : 'failed';
    if (outcome === 'ok' && handoff) {
      await this.#redeem(handoff);
    }
    return outcome;
  }

  /**
   * Returns the visitor's GitBook account (the JSON of GitBook's GET
   * /account, with displayName, id, email...), or null when nobody is
   * logged in. Throws LoginError 'session_expired' once when a session has
   * ended; later calls return null.
   */
  async account() {
    const response = await this.#request('GET', '/account');
    if (response.ok) {
      return response.json();
    }
    const problem = await errorBody(response);
    if (response.status === 401) {
      const hadToken = this.#token !== null;
      this.#setToken(null);
      if (!hadToken && problem.error === NO_SESSION) {
        return null;
      }
      throw new LoginError('session_expired', problem.message || 'Your session has ended. Log in again.', {
        status: 401,
        serverCode: problem.error,
      });
    }
    throw requestFailed(response, problem);
  }

  /**
   * Ends the session at the API, which also revokes the GitBook token when
   * the API has GITBOOK_REVOKE_URL set. The token is forgotten first, so
   * this page is logged out even when the request fails. A LoginError then
   * means that the API may still keep the session until it expires.
   */
  async logout() {
    const token = this.#token;
    this.#setToken(null);
    const response = await this.#request('POST', '/logout', { token });
    if (response.status !== 204) {
      throw requestFailed(response, await errorBody(response));
    }
  }

  async #redeem(handoff) {
    let response;
    try {
      response = await fetch(`${this.#api}/session`, {
        method: 'POST',
        credentials: 'omit',
        cache: 'no-store',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ handoff }),
      });
    } catch (error) {
      throw networkError(error);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok || typeof body.session !== 'string') {
      throw new LoginError('handoff_failed', body.message || 'The login could not be finished. Log in again.', {
        status: response.status,
        serverCode: body.error || '',
      });
    }
    this.#setToken(body.session);
  }

  // #request sends the session the way the mode needs: the bearer token when
  // this page has one (cross-site), otherwise the API's cookie (same-site).
  // X-Requested-With is the API's CSRF check for cookie-authenticated POSTs.
  async #request(method, path, { token = this.#token } = {}) {
    const headers = { 'X-Requested-With': 'gitbook-login' };
    if (token) {
      headers.Authorization = `Bearer ${token}`;
    }
    try {
      return await fetch(`${this.#api}${path}`, {
        method,
        headers,
        credentials: token ? 'omit' : 'include',
        cache: 'no-store',
      });
    } catch (error) {
      throw networkError(error);
    }
  }

  #setToken(token) {
    this.#token = token;
    if (!this.#storage) {
      return;
    }
    if (token) {
      this.#storage.setItem(this.#storageKey, token);
    } else {
      this.#storage.removeItem(this.#storageKey);
    }
  }
}

// sessionStore returns sessionStorage, or null where the browser denies it
// (some privacy settings throw on access); the token then lives in memory.
function sessionStore() {
  try {
    const storage = window.sessionStorage;
    storage.getItem(DEFAULT_STORAGE_KEY);
    return storage;
  } catch {
    return null;
  }
}

async function errorBody(response) {
  const body = await response.json().catch(() => ({}));
  return { error: typeof body.error === 'string' ? body.error : '', message: typeof body.message === 'string' ? body.message : '' };
}

function requestFailed(response, problem) {
  return new LoginError('request_failed', problem.message || `The login service returned status ${response.status}.`, {
    status: response.status,
    serverCode: problem.error,
  });
}

function networkError(cause) {
  return new LoginError('network_error', 'The login service could not be reached. Check your connection and try again.', { cause });
}
