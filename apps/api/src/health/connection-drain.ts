import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * During a drain, a keep-alive connection without a request in progress is
 * closed once it has been quiet this long. A busy client sends its next
 * request within a round trip of the last answer: a connection that was
 * quiet for less may have a request on the wire, and closing it then resets
 * that request (the client gets ECONNRESET or "socket hang up").
 */
export const DRAIN_QUIET_MS = 500;

interface Connection {
  /** Requests received on it whose response has not closed yet. */
  inFlight: number;
  /** performance.now() of its last response, of the accept, or of bytes seen arriving. */
  quietSince: number;
  /**
   * socket.bytesRead at its last request, response or look: more since is a
   * request whose headers are still arriving (activity).
   */
  bytesRead: number;
}

/**
 * The connections of the HTTP server, for a graceful drain with keep-alive
 * clients:
 *
 * - every response from the start of the drain carries `Connection: close`
 *   (also one already in progress, unless its headers are out), so a client
 *   learns from an answer that this connection ends and opens a new one (to
 *   another replica, once the endpoint is removed);
 * - a connection with no request in progress is closed only after
 *   DRAIN_QUIET_MS of quiet, checked after the event loop has read what
 *   arrived (a request already on the wire is served, never reset).
 *
 * Node's `server.close()` — which Fastify's close calls — closes every
 * connection that is idle at that instant, including one whose next request
 * is on the wire or a fresh one whose first request is: that reset requests on
 * open keep-alive connections after SIGTERM. While draining, the server's
 * closeIdleConnections is the quiet-aware one here.
 */
export class ConnectionDrain {
  private readonly connections = new Map<Socket, Connection>();
  private readonly responses = new Set<ServerResponse>();
  private draining = false;
  private careful = false;
  private timer?: NodeJS.Timeout;

  /** Tracks `server`'s connections and requests (before it listens). */
  track(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.connections.set(socket, { inFlight: 0, quietSince: performance.now(), bytesRead: 0 });
      socket.once('close', () => this.connections.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const conn = this.connections.get(req.socket);
      if (conn) {
        conn.inFlight++;
        conn.bytesRead = req.socket.bytesRead;
      }
      this.responses.add(res);
      if (this.draining) closeAfter(res);
      res.once('close', () => {
        this.responses.delete(res);
        if (conn) {
          conn.inFlight--;
          conn.quietSince = performance.now();
          conn.bytesRead = req.socket.bytesRead;
        }
      });
    });
    const closeAllIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => {
      if (this.careful) this.reapSoon();
      else closeAllIdle();
    };
    server.once('close', () => clearInterval(this.timer));
  }

  /**
   * Starts the drain. `careful` (a signal: clients are live): idle
   * connections close after DRAIN_QUIET_MS of quiet; otherwise (a
   * programmatic close, e.g. a test) at once, as Node does.
   */
  begin(careful: boolean): void {
    if (this.draining) return;
    this.draining = true;
    this.careful = careful;
    for (const res of this.responses) closeAfter(res);
    if (careful) {
      this.timer = setInterval(() => this.reapSoon(), DRAIN_QUIET_MS / 5);
      this.timer.unref();
      this.reapSoon();
    }
  }

  /** Open connections (for tests and logs). */
  get open(): number {
    return this.connections.size;
  }

  /**
   * After the poll phase of this loop turn (setImmediate): a request that had
   * arrived is parsed by then and counted in flight, even when the event loop
   * was busy for longer than DRAIN_QUIET_MS.
   */
  private reapSoon(): void {
    setImmediate(() => {
      const now = performance.now();
      for (const [socket, conn] of this.connections) {
        if (socket.bytesRead !== conn.bytesRead) {
          conn.bytesRead = socket.bytesRead;
          conn.quietSince = now;
        } else if (conn.inFlight === 0 && now - conn.quietSince >= DRAIN_QUIET_MS) {
          socket.destroy();
        }
      }
    });
  }
}

function closeAfter(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}
