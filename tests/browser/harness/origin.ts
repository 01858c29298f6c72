/**
 * A second web origin for the cross-origin tests: a tiny node HTTP server on
 * 127.0.0.1 (another port: another origin, the same site) serving one blank page,
 * from which a test runs scripts against the switchboard server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class OtherOrigin {
  private constructor(private readonly http: Server, readonly origin: string) {}

  static async start(host = '127.0.0.1'): Promise<OtherOrigin> {
    const http = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><html lang="en"><head><title>Another origin</title></head><body><h1>Another origin</h1></body></html>');
    });
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    const port = (http.address() as AddressInfo).port;
    return new OtherOrigin(http, `http://${host}:${port}`);
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise((done) => this.http.close(done));
  }
}
