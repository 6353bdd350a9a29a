import { PgFrontendParser, pgRoundTrips, RespParser } from './wire-count';

function pgMsg(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'ascii');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

describe('PostgreSQL frontend counting', () => {
  it('counts simple queries and extended-protocol statements, across chunk boundaries', () => {
    const startup = Buffer.alloc(8 + 9);
    startup.writeInt32BE(17, 0);
    startup.writeInt32BE(196608, 4);
    const stream = Buffer.concat([
      startup,
      pgMsg('Q', cstr('START TRANSACTION')),
      pgMsg('P', Buffer.concat([cstr(''), cstr('SELECT $1'), Buffer.from([0, 0])])),
      pgMsg('B', Buffer.alloc(10)),
      pgMsg('D', Buffer.from('P\0')),
      pgMsg('E', Buffer.alloc(5)),
      pgMsg('S', Buffer.alloc(0)),
      pgMsg('Q', cstr('COMMIT')),
    ]);
    const p = new PgFrontendParser();
    p.statements = [];
    for (let i = 0; i < stream.length; i += 3) p.feed(stream.subarray(i, i + 3));
    expect(p.counts).toEqual({ simple: 2, syncs: 1, parses: 1, binds: 1 });
    expect(pgRoundTrips(p.counts)).toBe(3);
    expect(p.statements).toEqual(['START TRANSACTION', 'SELECT $1', 'COMMIT']);
  });

  it('skips an SSL request before the startup packet', () => {
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(196608, 4);
    const p = new PgFrontendParser();
    p.feed(Buffer.concat([ssl, startup, pgMsg('Q', cstr('SELECT 1'))]));
    expect(p.counts.simple).toBe(1);
  });
});

describe('Redis RESP counting', () => {
  it('counts commands by name, split anywhere, inline too', () => {
    const wire = Buffer.from(
      '*2\r\n$3\r\nGET\r\n$5\r\nk\r\nv1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n*2\r\n$3\r\nget\r\n$1\r\nx\r\n',
    );
    const p = new RespParser();
    for (let i = 0; i < wire.length; i += 2) p.feed(wire.subarray(i, i + 2));
    expect(Object.fromEntries(p.commands)).toEqual({ GET: 2, SET: 1, PING: 1 });
    expect(p.total).toBe(4);
  });
});
