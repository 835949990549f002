// A real OpenID Connect provider for tests/test_oidc.py (npm package oidc-provider, pinned in
// tests/package.json), on a free loopback port chosen at start. It prints its issuer URL as its
// first line, then serves until it is killed.
//
//   node tests/oidc/provider.mjs <client_id> <client_secret> <redirect_uri> <post_logout_redirect_uri>
//
// One confidential client (code flow, secret posted with the token request). Its own minimal
// sign-in page checks a login name and password against the accounts below; consent is given
// at once (the application is the agency's own). Everything lives in memory.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri, postLogoutRedirectUri] = process.argv.slice(2);
if (!postLogoutRedirectUri) {
  console.error('usage: provider.mjs <client_id> <client_secret> <redirect_uri> <post_logout_redirect_uri>');
  process.exit(2);
}

// Login name -> password and claims. The NIPs are valid ones; tests/test_oidc.py gives them to
// the employees it expects to find (or not).
const ACCOUNTS = {
  siti: { password: 'sandi-siti', claims: { name: 'Siti Staf', email: 'siti@example.go.id', nip: '198503152010012001' } },
  ratna: { password: 'sandi-ratna', claims: { name: 'Ratna Atasan', email: 'ratna@example.go.id', nip: '197804202005022003' } },
  tamu: { password: 'sandi-tamu', claims: { name: 'Tamu Baru', email: 'tamu@example.go.id', nip: '199001012015011002' } },
  'tanpa-nip': { password: 'sandi-tanpa', claims: { name: 'Tanpa NIP', email: 'tanpa@example.go.id' } },
};

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const configuration = {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutRedirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], profile: ['name', 'nip'], email: ['email'] },
  jwks: { keys: [{ ...signingKey, kid: 'test-signing-key', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    return account && { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  // The agency's own application: what it asks for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
};

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, message) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test sign-in portal</title></head><body>
<h1>Test sign-in portal</h1>${message ? `<p class="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" required></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') {
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  }
  if (req.method === 'POST') {
    const form = await readForm(req);
    const account = ACCOUNTS[form.get('login')];
    if (account && account.password === form.get('password')) {
      await provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, 'Wrong login or password.'));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(loginPage(details.uid, ''));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (/^\/interaction\/[\w-]+$/.test(new URL(req.url, issuer).pathname)) {
      interaction(provider, req, res).catch((error) => {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`interaction failed: ${error.message}`);
      });
    } else {
      handle(req, res);
    }
  });
  console.log(issuer);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
