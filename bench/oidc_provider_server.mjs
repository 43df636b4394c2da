// node-oidc-provider serving the client credentials grant (RFC 6749 §4.4) for one confidential
// client authenticating with client_secret_basic, on its default in-memory adapter: the
// reference side of bench/compare_oidc_provider.sh. Run from the directory oidc-provider was
// installed into, so that the bare import resolves.
// Usage: node oidc_provider_server.mjs PORT CLIENT_ID CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
if (!port || !clientId || !clientSecret) {
  console.error('usage: node oidc_provider_server.mjs PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read',
    },
  ],
  scopes: ['read'],
  // gatekey's default lifetime of an opaque access token.
  ttl: { ClientCredentials: 3600 },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
  },
});
// Errors only: the default logs nothing per request either.
provider.on('server_error', (_ctx, error) => console.error(error));

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on 127.0.0.1:${port}`);
});
