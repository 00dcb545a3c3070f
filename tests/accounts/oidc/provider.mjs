// A local OpenID Connect provider for the sign-in tests (oidc-provider, pinned in
// package-lock.json). Started by tests/accounts/conftest.py on a free loopback
// port: `node provider.mjs config.json`, where config.json holds the port, the
// clients and the users (their e-mail and groups claims). Any password is
// accepted (the dev login form): the tests are about what the site does with
// the claims, not about the provider's passwords.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  cookies: { keys: ['lukhas-test-provider-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...user }; } };
  },
  // First-party client: grant what it asks for, so there is no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
