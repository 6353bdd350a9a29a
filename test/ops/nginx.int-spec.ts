import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nginx, requireTool, throwawayCertificate } from '../deploy/tools';

const CONF = path.resolve(__dirname, '../../ops/nginx/lhcms.conf');

/** NGINX_BIN (`npm test` sets it), else /usr/sbin, /usr/local/sbin or PATH; missing: fails, saying what to install. */
const nginxBinary = (): string => requireTool(nginx());

/** `nginx -t` on the config, included in a minimal main config with a throwaway certificate. */
function nginxTest(conf: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-nginx-'));
  try {
    throwawayCertificate(dir);
    fs.mkdirSync(path.join(dir, 'logs'));
    fs.writeFileSync(
      path.join(dir, 'lhcms.conf'),
      conf
        .replace('/etc/ssl/certs/lhcms.crt', path.join(dir, 'lhcms.crt'))
        .replace('/etc/ssl/private/lhcms.key', path.join(dir, 'lhcms.key')),
    );
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/lhcms.conf;\n}\n`,
    );
    const r = spawnSync(nginxBinary(), ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], {
      encoding: 'utf8',
    });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('ops/nginx/lhcms.conf', () => {
  const conf = fs.readFileSync(CONF, 'utf8');

  it('passes nginx -t', () => {
    const r = nginxTest(conf);
    expect(r.output).toMatch(/syntax is ok/);
    expect(r.ok).toBe(true);
  });

  it('a broken copy fails nginx -t (the check is real)', () => {
    expect(
      nginxTest(conf.replace('ssl_protocols TLSv1.2 TLSv1.3;', 'ssl_protocols TLSv9;')).ok,
    ).toBe(false);
  });

  it("keeps the seed's TLS policy, headers and proxy headers", () => {
    expect(conf).toMatch(/^\s*ssl_protocols TLSv1\.2 TLSv1\.3;$/m);
    expect(conf).toContain(
      'ssl_ciphers ECDHE-RSA-AES256-GCM-SHA512:DHE-RSA-AES256-GCM-SHA512:ECDHE-RSA-AES256-GCM-SHA384;',
    );
    for (const h of [
      'Strict-Transport-Security',
      'X-Frame-Options DENY',
      'X-Content-Type-Options nosniff',
      'Referrer-Policy',
      'Content-Security-Policy',
    ]) {
      expect(conf).toContain(`add_header ${h}`);
    }
    for (const h of [
      'Host $host',
      'X-Real-IP $remote_addr',
      'X-Forwarded-For $proxy_add_x_forwarded_for',
      'X-Forwarded-Proto $scheme',
    ]) {
      expect(conf).toContain(`proxy_set_header ${h};`);
    }
    expect(conf).toMatch(/upstream lhcms-backend \{[^}]*server 10\.0\.1\.10:5001/s);
  });
});
