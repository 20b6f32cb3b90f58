/**
 * Nothing in expnet contacts the network at run time (issue 17). `expnet predict` and `expnet serve` run under an
 * LD_PRELOAD shim over libc's getaddrinfo, gethostbyname, connect, sendto and sendmsg that records (and fails)
 * every host-name lookup and every IP destination off loopback; any record fails the test. Their HOME is a
 * fresh folder, where ONNX Runtime's telemetry would write its device id and event cache at once (and resolve
 * mobile.events.data.microsoft.com ~9 s later; serve runs 12 s), and without the CI variables with which ORT
 * turns telemetry off by itself. Controls prove that the shim sees a lookup and that a bare onnxruntime-node
 * session does write that cache. Linux with a C compiler only; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/engine/native.js';
import { startServe } from './serveFixtures.js';

const SHIM = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void note(const char *what, const char *detail) {
  const char *log = getenv("EXPNET_NET_LOG");
  if (!log) return;
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return;
  char line[600];
  int n = snprintf(line, sizeof line, "%s %s\n", what, detail ? detail : "-");
  if (n > 0) { ssize_t w = write(fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)); (void)w; }
  close(fd);
}

/* An IP destination off loopback, written into buf. */
static int outside(const struct sockaddr *a, char *buf, size_t n) {
  if (!a) return 0;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)a;
    inet_ntop(AF_INET, &s->sin_addr, buf, (socklen_t)n);
    return (ntohl(s->sin_addr.s_addr) >> 24) != 127;
  }
  if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
    inet_ntop(AF_INET6, &s->sin6_addr, buf, (socklen_t)n);
    if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr)) return 0;
    return !(IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) && s->sin6_addr.s6_addr[12] == 127);
  }
  return 0;
}

static int numeric(const char *node) {
  unsigned char b[sizeof(struct in6_addr)];
  return node == NULL || inet_pton(AF_INET, node, b) == 1 || inet_pton(AF_INET6, node, b) == 1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
  if (!numeric(node)) { note("getaddrinfo", node); return EAI_FAIL; }
  if (!real) real = (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
  return real(node, service, hints, res);
}

struct hostent *gethostbyname(const char *name) { note("gethostbyname", name); h_errno = HOST_NOT_FOUND; return NULL; }

int connect(int fd, const struct sockaddr *a, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  char buf[64] = "";
  if (outside(a, buf, sizeof buf)) { note("connect", buf); errno = ENETUNREACH; return -1; }
  if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
  return real(fd, a, len);
}

ssize_t sendto(int fd, const void *b, size_t n, int flags, const struct sockaddr *a, socklen_t len) {
  static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  char buf[64] = "";
  if (outside(a, buf, sizeof buf)) { note("sendto", buf); errno = ENETUNREACH; return -1; }
  if (!real) real = (ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "sendto");
  return real(fd, b, n, flags, a, len);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  static ssize_t (*real)(int, const struct msghdr *, int);
  char buf[64] = "";
  if (m && outside((const struct sockaddr *)m->msg_name, buf, sizeof buf)) { note("sendmsg", buf); errno = ENETUNREACH; return -1; }
  if (!real) real = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
  return real(fd, m, flags);
}
`;

const TELEMETRY_CACHE = join('.cache', 'Microsoft', 'DeveloperTools', '.onnxruntime');
/**
 * Variables with which ONNX Runtime suppresses its telemetry by itself (its telemetry_environment.h): removed
 * from the children's environment, so that what keeps telemetry off there is expnet's own setting.
 */
const CI_VARS = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER', 'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI', 'ORT_RUNNING_UNIT_TESTS'];

const main = fileURLToPath(new URL(`../src/cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const astronaut = join(packageRoot(), 'examples', 'astronaut.png');
const cc = process.platform === 'linux' ? ['cc', 'gcc', 'clang'].find((c) => spawnSync(c, ['--version']).status === 0) : undefined;

describe('no network at run time (LD_PRELOAD resolver and socket shim)', { skip: cc === undefined ? 'needs Linux and a C compiler (cc)' : false }, () => {
  let dir: string;
  let shim: string;
  /** A fresh HOME and log per run; returns the environment for a child. */
  const sandbox = (name: string, extra: Record<string, string | undefined> = {}): { env: NodeJS.ProcessEnv; log: string; home: string } => {
    const home = join(dir, `home-${name}`);
    const log = join(dir, `${name}.log`);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, LD_PRELOAD: shim, EXPNET_NET_LOG: log, EXPNET_NUM_THREADS: '1', OMP_NUM_THREADS: '1', ...extra };
    for (const v of CI_VARS) delete env[v];
    for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
    return { env, log, home };
  };
  const records = (log: string): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'expnet-offline-'));
    writeFileSync(join(dir, 'shim.c'), SHIM);
    shim = join(dir, 'shim.so');
    const r = spawnSync(cc as string, ['-shared', '-fPIC', '-O1', '-o', shim, join(dir, 'shim.c'), '-ldl'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('control: the shim records (and fails) a host-name lookup from Node', () => {
    const { env, log } = sandbox('control');
    const r = spawnSync(process.execPath, ['-e', "require('node:dns').lookup('expnet-shim-probe.invalid', (e) => process.exit(e ? 0 : 1))"], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(records(log), /^getaddrinfo expnet-shim-probe\.invalid$/m);
  });

  test('control: a bare onnxruntime-node session (no ortEnv.ts) starts ORT telemetry, which writes under HOME', () => {
    const { env, home } = sandbox('bare', { ORT_DISABLE_TELEMETRY: undefined });
    const model = join(packageRoot(), 'models', 'expnet-fer2013.onnx');
    const script = `require('onnxruntime-node').InferenceSession.create(${JSON.stringify(model)}).then((s) => s.release())`;
    const r = spawnSync(process.execPath, ['-e', script], { env, cwd: packageRoot(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(home, TELEMETRY_CACHE)), 'ORT 1.30 writes its telemetry cache under HOME at once');
  });

  test('expnet predict: no lookup, no connection off loopback, no telemetry cache', () => {
    const { env, log, home } = sandbox('predict', { ORT_DISABLE_TELEMETRY: '0' });
    const r = spawnSync(process.execPath, [...process.execArgv, main, 'predict', astronaut, '--json'], { env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"faces"/);
    assert.equal(records(log), '', 'network activity during predict');
    assert.ok(!existsSync(join(home, TELEMETRY_CACHE)), 'ORT telemetry wrote its cache (ORT_DISABLE_TELEMETRY=0 from the user is overridden)');
  });

  test('expnet serve: 12 s with requests, no lookup, no connection off loopback, no telemetry cache', async () => {
    const { env, log, home } = sandbox('serve');
    const server = await startServe(['--concurrency', '1'], { ...env, EXPNET_API_KEYS: '' });
    const { port } = server;
    try {
      const png = readFileSync(astronaut);
      const detect = async (): Promise<void> => {
        const res = await fetch(`http://127.0.0.1:${port}/v1/detect`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      };
      await detect();
      await new Promise((r) => setTimeout(r, 12_000));
      await detect();
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.stderr());
    } finally {
      server.end();
    }
    assert.equal(records(log), '', 'network activity during serve');
    assert.ok(!existsSync(join(home, TELEMETRY_CACHE)), 'ORT telemetry wrote its cache');
  });
});
