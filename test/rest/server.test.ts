// hvagent serve with real clients (Node's fetch over TLS, curl, Node's http over the unix
// socket): who may call, what each refusal looks like, and that a misbehaving client does
// not stop the server serving others. Nothing here defines a VM.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../vm/helpers.js';
import { makePki, sha256, startServer, unixRequest, type Pki, type TestServer } from './helpers.js';

const ALICE_TOKEN = 'alice-token-0123456789abcdef';
const BOB_TOKEN = 'bob-token-0123456789abcdef';
const OLD_TOKEN = 'old-token-0123456789abcdef';

let dir: string;
let pki: Pki;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rest-tls-'));
  pki = makePki(join(dir, 'pki'));
  server = await startServer({
    pki,
    config: {
      server: {
        tokens: [
          { caller: 'alice', sha256: sha256(ALICE_TOKEN) },
          { caller: 'bob', sha256: sha256(BOB_TOKEN) },
          { caller: 'old', sha256: sha256(OLD_TOKEN), expires: '2020-01-01T00:00:00Z' },
        ],
        max_body_bytes: 4096,
        max_concurrent_per_caller: 2,
        headers_timeout_s: 2,
        request_timeout_s: 3,
      },
      // The caller's name feeds the rules: bob may not read the host's usage.
      authorization: { rules: [{ caller: 'bob', agent: 'host', action: 'usage', allow: false }] },
    },
  });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS: client certificates and bearer tokens', () => {
  test('a client certificate signed by client_ca is accepted, and its CN is the caller', async () => {
    const answer = await server.tls('/v1/host/agent', { cert: pki.alice });
    expect(answer.status).toBe(200);
    expect(answer.json.data.protocol).toBe('rest');
    const started = await server.tls('/v1/host/usage?cpu_window_ms=50&async=true', { cert: pki.alice });
    expect(started.status).toBe(202);
    expect((started.json.data as { caller: string }).caller).toBe('alice-cert');
  });

  test('a certificate of another CA, an expired one and none at all get 401 with the reason', async () => {
    const stranger = await server.tls('/v1/host/agent', { cert: pki.stranger });
    expect([stranger.status, stranger.json.data.error_code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(stranger.json.statusmsg).toMatch(/client certificate was refused/);
    const expired = await server.tls('/v1/host/agent', { cert: pki.expired });
    expect([expired.status, expired.json.statusmsg]).toEqual([401, expect.stringContaining('CERT_HAS_EXPIRED')]);
    const none = await server.tls('/v1/host/agent');
    expect([none.status, none.json.data.error_code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(none.json.statusmsg).toMatch(/No credential/);
  });

  test('tokens: good, bad, expired, malformed and missing', async () => {
    expect((await server.tls('/v1/host/agent', { token: ALICE_TOKEN })).status).toBe(200);
    const bad = await server.tls('/v1/host/agent', { token: 'not-a-token-we-know-at-all' });
    expect([bad.status, bad.json.statusmsg]).toEqual([401, expect.stringMatching(/not one this server knows/)]);
    const old = await server.tls('/v1/host/agent', { token: OLD_TOKEN });
    expect([old.status, old.json.statusmsg]).toEqual([401, expect.stringMatching(/expired at 2020/)]);
    const short = await server.tls('/v1/host/agent', { token: 'short' });
    expect(short.status).toBe(401);
    expect((await server.tls('/v1/host/agent')).status).toBe(401);
  });

  test('the token names the caller for the authorization rules: bob is refused what alice may do', async () => {
    const bob = await server.tls('/v1/host/usage?cpu_window_ms=50', { token: BOB_TOKEN });
    expect([bob.status, bob.json.data.error_code]).toEqual([403, 'NOT_AUTHORIZED']);
    expect(bob.json.statusmsg).toContain("'bob'");
    expect((await server.tls('/v1/host/usage?cpu_window_ms=50', { token: ALICE_TOKEN })).status).toBe(200);
  });

  test('curl with a token and with a client certificate', () => {
    const curl = (args: string[]) => execFileSync('curl', ['-sS', '--cacert', pki.ca, '-w', '\n%{http_code}', ...args], { encoding: 'utf8' }).split('\n');
    const [tokenBody, tokenStatus] = curl(['-H', `Authorization: Bearer ${ALICE_TOKEN}`, `${server.url}/v1/host/agent`]);
    expect(tokenStatus).toBe('200');
    expect(JSON.parse(tokenBody!).data.protocol).toBe('rest');
    const [, certStatus] = curl(['--cert', pki.alice.cert, '--key', pki.alice.key, `${server.url}/v1/vms?state=running`]);
    expect(certStatus).toBe('200');
    const [body, status] = curl([`${server.url}/v1/host/agent`]);
    expect([status, JSON.parse(body!).data.error_code]).toEqual(['401', 'UNAUTHENTICATED']);
  });
});

describe('the unix socket', () => {
  test('is root only, and knows its peer by SO_PEERCRED (root may relay a caller: the hand-over)', async () => {
    const mode = execFileSync('stat', ['-c', '%a %U', server.socket], { encoding: 'utf8' }).trim();
    expect(mode).toBe('600 root');
    // An unprivileged peer cannot even connect; root is uid=0.
    const nobody = execFileSync('su', ['nobody', '-s', '/bin/sh', '-c', `curl -s --unix-socket ${server.socket} http://x/v1/host/agent; echo " rc=$?"`], { encoding: 'utf8' });
    expect(nobody).toMatch(/rc=7/);
    const relayed = await server.unix('POST', '/v1/rpc', { request: { agent: 'host', action: 'usage', data: { cpu_window_ms: 50 }, callerid: 'bob' }, protocol: 'mcollective' });
    expect(relayed.json.data.error_code).toBe('NOT_AUTHORIZED');
    const own = await server.unix('GET', '/v1/host/usage?cpu_window_ms=50');
    expect(own.status).toBe(200);
  });
});

describe('the hand-over (POST /v1/rpc), answered in front of the router', () => {
  const agentInfo = { request: { agent: 'host', action: 'agent_info', data: {}, callerid: 'cert=carol' }, protocol: 'mcollective' };

  test('refuses as every route does: no credential over TLS, a body too large, malformed JSON', async () => {
    const none = await server.tls('/v1/rpc', { method: 'POST', body: agentInfo });
    expect([none.status, none.json.data.error_code]).toEqual([401, 'UNAUTHENTICATED']);
    const large = await server.unix('POST', '/v1/rpc', { text: 'x'.repeat(5000), protocol: 'stdio' });
    expect([large.status, large.json.data.error_code]).toEqual([413, 'REQUEST_TOO_LARGE']);
    const broken = await server.unix('POST', '/v1/rpc', '{"request": ');
    expect([broken.status, broken.json.data.error_code]).toEqual([400, 'REQUEST_INVALID']);
    expect((await server.unix('GET', '/v1/rpc')).status).toBe(405);
  });

  test('only root on the unix socket relays a caller: over TLS the token names the caller', async () => {
    const usage = { request: { agent: 'host', action: 'usage', data: { cpu_window_ms: 50 }, callerid: 'bob' }, protocol: 'mcollective' };
    const relayed = await server.unix('POST', '/v1/rpc', usage);
    expect([relayed.status, relayed.json.data.error_code]).toEqual([403, 'NOT_AUTHORIZED']);
    const alice = await server.tls('/v1/rpc', { method: 'POST', token: ALICE_TOKEN, body: usage });
    expect([alice.status, alice.json.statuscode]).toEqual([200, 0]);
    expect((await server.tls('/v1/rpc', { method: 'POST', token: BOB_TOKEN, body: usage })).status).toBe(403);
  });

  test("gives what hono's own route gives, and streams progress lines when asked", async () => {
    const plain = await server.unix('POST', '/v1/rpc', agentInfo);
    const routed = await server.unix('POST', '/v1/rpc?via=router', agentInfo);
    expect([plain.status, plain.json.statuscode, plain.json.data.protocol]).toEqual([200, 0, 'mcollective']);
    expect([routed.status, routed.json.statuscode, routed.json.data.protocol]).toEqual([plain.status, plain.json.statuscode, plain.json.data.protocol]);
    const streamed = await server.unix('POST', '/v1/rpc', { ...agentInfo, progress: true });
    const lines = streamed.text.trimEnd().split('\n').map((line) => JSON.parse(line) as { reply?: { statuscode: number } });
    expect(streamed.status).toBe(200);
    expect(lines.at(-1)?.reply?.statuscode).toBe(0);
  });
});

describe('the hand-over wire: newline-delimited JSON on the unix socket', () => {
  const agentInfo = (callerid: string) => JSON.stringify({ request: { agent: 'host', action: 'agent_info', data: {}, callerid }, protocol: 'mcollective' });
  type Line = { reply?: { statuscode: number; data: Record<string, unknown> }; record?: unknown };

  /** Writes each text in turn (the next once the previous is out), and collects the answer until `enough` or the server closes. */
  const exchange = (texts: string[], enough: (lines: Line[]) => boolean = () => false) =>
    new Promise<{ lines: Line[]; raw: string; closed: boolean }>((resolve, reject) => {
      const client = connect(server.socket);
      let raw = '';
      const lines = () => raw.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Line);
      const done = (closed: boolean) => {
        client.destroy();
        resolve({ lines: lines(), raw, closed });
      };
      client.setEncoding('utf8');
      client.on('data', (chunk: string) => {
        raw += chunk;
        if (raw.endsWith('\n') && enough(lines())) done(false);
      });
      client.on('close', () => done(true));
      client.on('error', reject);
      const writeNext = (index: number) => index < texts.length && client.write(texts[index]!, () => setImmediate(() => writeNext(index + 1)));
      client.once('connect', () => writeNext(0));
    });
  const replies = (lines: Line[]) => lines.filter((line) => line.reply).map((line) => line.reply!);

  test('lines are answered in order on one connection, with what POST /v1/rpc answers', async () => {
    const { lines } = await exchange([`${agentInfo('cert=carol')}\n${agentInfo('cert=dave')}\n`, `${JSON.stringify({ text: '{"agent":"host","action":"agent_info"}', protocol: 'stdio' })}\n`], (got) => replies(got).length === 3);
    const answered = replies(lines);
    expect(answered.map((reply) => [reply.statuscode, reply.data.protocol])).toEqual([
      [0, 'mcollective'],
      [0, 'mcollective'],
      [0, 'stdio'],
    ]);
    const http = await server.unix('POST', '/v1/rpc', JSON.parse(agentInfo('cert=carol')));
    expect(Object.keys(answered[0]!.data).sort()).toEqual(Object.keys(http.json.data).sort());
  });

  test('progress: true sends record lines, then the reply line', async () => {
    const { lines } = await exchange([`${JSON.stringify({ ...JSON.parse(agentInfo('cert=carol')), progress: true })}\n`], (got) => replies(got).length === 1);
    expect(lines.at(-1)?.reply?.statuscode).toBe(0);
    expect(lines.slice(0, -1).every((line) => line.record !== undefined)).toBe(true);
  });

  test('a malformed line gets REQUEST_INVALID, and the next line on the connection is answered', async () => {
    const { lines } = await exchange(['{"request": \n', `${agentInfo('cert=carol')}\n`], (got) => replies(got).length === 2);
    expect(replies(lines).map((reply) => [reply.statuscode, reply.data.error_code ?? null])).toEqual([
      [4, 'REQUEST_INVALID'],
      [0, null],
    ]);
  });

  test('a line over server.max_body_bytes is refused with REQUEST_TOO_LARGE and its connection closed; others are served', async () => {
    const { lines, closed } = await exchange([`{"text": "${'x'.repeat(5000)}"}\n`]);
    expect(closed).toBe(true);
    expect(replies(lines).map((reply) => reply.data.error_code)).toEqual(['REQUEST_TOO_LARGE']);
    expect(replies((await exchange([`${agentInfo('cert=carol')}\n`], (got) => replies(got).length === 1)).lines)[0]?.statuscode).toBe(0);
  });

  test('a line that never ends is refused with REQUEST_TIMEOUT after server.request_timeout_s; others are served meanwhile', async () => {
    const slow = exchange(['{"request": {"agent": "host"']);
    const meanwhile = await exchange([`${agentInfo('cert=carol')}\n`], (got) => replies(got).length === 1);
    expect(replies(meanwhile.lines)[0]?.statuscode).toBe(0);
    const { lines, closed } = await slow;
    expect(closed).toBe(true);
    expect(replies(lines).map((reply) => reply.data.error_code)).toEqual(['REQUEST_TIMEOUT']);
  });

  test('a connection that sends nothing gets HTTP 408 after server.headers_timeout_s', async () => {
    const { raw, closed } = await exchange([]);
    expect(closed).toBe(true);
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('HTTP sent a byte at a time is still HTTP (the first byte decides)', async () => {
    const request = 'GET /v1/host/agent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { raw } = await exchange([...request]);
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).data.protocol).toBe('rest');
  });
});

describe('bad input and abuse: a typed refusal each, and the server goes on', () => {
  test('a body over server.max_body_bytes is 413', async () => {
    const answer = await server.unix('POST', '/v1/vm/info', { name: 'x'.repeat(5000) });
    expect([answer.status, answer.json.data.error_code]).toEqual([413, 'REQUEST_TOO_LARGE']);
  });

  test('a chunked body (no Content-Length) is cut off at server.max_body_bytes with 413, and a small one is read whole', async () => {
    const chunked = (chunks: string[]) =>
      new Promise<{ status: number; json: { data: Record<string, unknown>; statuscode: number } }>((resolve, reject) => {
        const request = httpRequest({ socketPath: server.socket, method: 'POST', path: '/v1/host/agent_info', headers: { 'Content-Type': 'application/json' } }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) }));
        });
        request.on('error', reject);
        for (const chunk of chunks) request.write(chunk);
        request.end();
      });
    // 5 chunks of 1,000 bytes: past the 4,096-byte cap only in the fifth.
    const large = await chunked(['{"pad": "', ...Array.from({ length: 5 }, () => 'x'.repeat(1000)), '"}']);
    expect([large.status, large.json.data.error_code]).toEqual([413, 'REQUEST_TOO_LARGE']);
    const small = await chunked(['{', '}']);
    expect([small.status, small.json.statuscode]).toEqual([200, 0]);
  });

  test('malformed JSON and a non-object body are 400, naming the problem', async () => {
    const broken = await server.unix('POST', '/v1/vm/info', '{"name": ');
    expect([broken.status, broken.json.data.error_code]).toEqual([400, 'REQUEST_INVALID']);
    expect(broken.json.statusmsg).toMatch(/not valid JSON/);
    const list = await server.unix('POST', '/v1/vm/info', '[1]');
    expect([list.status, list.json.statusmsg]).toEqual([400, expect.stringMatching(/JSON object/)]);
  });

  test('validation is the DDL\'s: a bad input is 400 with its name, an unknown VM 404', async () => {
    const bad = await server.unix('GET', '/v1/vms/..%2Fetc');
    expect([bad.status, bad.json.data.error_code, (bad.json.data.error_details as { input: string }).input]).toEqual([400, 'INPUT_INVALID', 'name']);
    const twice = await server.unix('POST', '/v1/vms/rest-a/start', { name: 'rest-b' });
    expect([twice.status, twice.json.statusmsg]).toEqual([400, expect.stringMatching(/given twice/)]);
    const missing = await server.unix('GET', '/v1/vms/rest-no-such-vm-9');
    expect([missing.status, missing.json.data.error_code]).toEqual([404, 'NOT_FOUND']);
  });

  test('an unknown route is 404, a wrong method 405 with Allow', async () => {
    const route = await server.unix('GET', '/v1/nothing/here/at/all');
    expect([route.status, route.json.data.error_code]).toEqual([404, 'ROUTE_UNKNOWN']);
    const method = await server.unix('PUT', '/v1/vms');
    expect([method.status, method.json.data.error_code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
    expect(method.headers.allow).toContain('GET');
    expect(method.headers.allow).toContain('POST');
  });

  test('a caller over server.max_concurrent_per_caller gets 429 while another caller is served', async () => {
    const slow = () => server.tls('/v1/host/usage?cpu_window_ms=3000', { token: ALICE_TOKEN });
    const running = [slow(), slow()];
    let ended = false;
    void Promise.all(running).then(() => (ended = true));
    // Both slow requests hold alice's two places once the server has taken them (3 s each):
    // asked again until then, a third request is refused.
    let third = await server.tls('/v1/host/agent', { token: ALICE_TOKEN });
    while (third.status !== 429 && !ended) third = await server.tls('/v1/host/agent', { token: ALICE_TOKEN });
    const other = await server.tls('/v1/host/agent', { cert: pki.alice });
    const answers = await Promise.all(running);
    expect([third.status, third.json.data.error_code]).toEqual([429, 'TOO_MANY_REQUESTS']);
    expect(third.headers['retry-after']).toBe('1');
    expect(other.status).toBe(200);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect((await server.tls('/v1/host/agent', { token: ALICE_TOKEN })).status).toBe(200);
  });

  test('a slowloris client is cut off with 408 after server.headers_timeout_s while others are served', async () => {
    const slowClient = connect(server.socket);
    let received = '';
    slowClient.setEncoding('utf8');
    slowClient.on('data', (chunk: string) => (received += chunk));
    const closed = new Promise<void>((resolve) => slowClient.on('close', () => resolve()));
    await new Promise<void>((resolve) => slowClient.once('connect', () => resolve()));
    slowClient.write('GET /v1/host/agent HTTP/1.1\r\nHost: x\r\n');
    // It keeps dribbling a header byte by byte, never finishing.
    const dribble = setInterval(() => slowClient.writable && slowClient.write('X'), 300);
    try {
      const meanwhile = await server.unix('GET', '/v1/host/agent');
      expect(meanwhile.status).toBe(200);
      await closed;
    } finally {
      clearInterval(dribble);
      slowClient.destroy();
    }
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)).data.error_code).toBe('REQUEST_TIMEOUT');
  });

  test('1,000 concurrent requests are all answered', async () => {
    await server.stop();
    server = await startServer({ pki, dir, config: { server: { max_concurrent_per_caller: 2000 } } });
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, index) => (index % 2 === 0 ? unixRequest(server.socket, 'GET', '/v1/host/agent') : unixRequest(server.socket, 'GET', '/v1/vms'))),
    );
    const statuses = new Map<number, number>();
    for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 200: 1000 });
    expect((await server.unix('GET', '/v1/host/agent')).status).toBe(200);
  });
});

describe('lifecycle', () => {
  test('SIGHUP reloads the configuration: a token added to it is accepted without a restart', async () => {
    const newToken = 'carol-token-0123456789abcdef';
    expect((await server.tls('/v1/host/agent', { token: newToken })).status).toBe(401);
    server.writeConfig({ server: { tokens: [{ caller: 'carol', sha256: sha256(newToken) }], max_concurrent_per_caller: 2000 } });
    server.process.kill('SIGHUP');
    await waitFor(() => server.output().includes('configuration reloaded'), 'the reload', 20_000);
    expect((await server.tls('/v1/host/agent', { token: newToken })).status).toBe(200);
  });

  test('SIGTERM ends the server although a hand-over connection is kept open (as the MCollective runner keeps its own)', async () => {
    // Half-open allowed: like the runner, which does not read an idle connection, it never answers the server's end.
    const kept = connect({ path: server.socket, allowHalfOpen: true });
    const ended = new Promise<void>((resolve) => kept.once('end', () => resolve()));
    let answer = '';
    kept.setEncoding('utf8');
    const replied = new Promise<void>((resolve) => kept.on('data', (chunk: string) => (answer += chunk).endsWith('\n') && resolve()));
    kept.write(`${JSON.stringify({ request: { agent: 'host', action: 'agent_info', data: {}, callerid: 'cert=carol' }, protocol: 'mcollective' })}\n`);
    await replied;
    expect(JSON.parse(answer).reply.statuscode).toBe(0);
    // Killed by the test's own timeout if the kept connection held the server up.
    expect(await server.stop()).toBe(0);
    await ended;
    kept.destroy();
  });
});
