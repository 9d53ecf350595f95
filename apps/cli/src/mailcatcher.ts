/**
 * The embedded mail catcher the run command starts when SMTP_URL is unset: an in-process SMTP
 * server that keeps what it receives, with a small web inbox, so confirmation and alert emails can
 * be read with no mail account. Messages are also written to .data/mail/*.eml.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

interface Caught {
  id: number;
  receivedAt: Date;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );

function listen(
  server: {
    listen: (port: number, host: string, cb: () => void) => unknown;
    once: (e: string, cb: (err: NodeJS.ErrnoException) => void) => unknown;
  },
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

export async function startMailCatcher(opts: { smtpPort?: number; httpPort?: number; dir: string }) {
  const messages: Caught[] = [];
  fs.mkdirSync(opts.dir, { recursive: true });
  let seq = 0;
  const smtp = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const id = ++seq;
        fs.writeFileSync(path.join(opts.dir, `${String(id).padStart(5, '0')}.eml`), raw);
        try {
          // The parser loads with the first message: an idle run command does not hold it.
          const { default: PostalMime } = await import('postal-mime');
          const parsed = await PostalMime.parse(raw);
          messages.unshift({
            id,
            receivedAt: new Date(),
            from: parsed.from?.address ?? String(session.envelope.mailFrom ? session.envelope.mailFrom.address : ''),
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '(no subject)',
            text: parsed.text ?? '',
            html: parsed.html ?? '',
          });
          if (messages.length > 500) messages.pop();
        } catch {
          // Unparseable mail is still on disk; the inbox just does not list it.
        }
        callback();
      });
    },
  });

  const web = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/messages\/(\d+)$/.exec(url.pathname);
    if (m) {
      const msg = messages.find((x) => x.id === Number(m[1]));
      if (!msg) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        // The message's own HTML is shown sandboxed: no scripts run in the inbox.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'",
      });
      res.end(
        `<!doctype html><meta charset="utf-8"><title>${esc(msg.subject)}</title><p><a href="/">&larr; inbox</a></p>` +
          `<h1>${esc(msg.subject)}</h1><p>From ${esc(msg.from)} to ${esc(msg.to.join(', '))}, ${msg.receivedAt.toISOString()}</p>` +
          `<h2>Text</h2><pre style="white-space:pre-wrap">${esc(msg.text).replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1">$1</a>')}</pre>` +
          (msg.html
            ? `<h2>HTML</h2><iframe sandbox style="width:100%;height:60vh;border:1px solid #ccc" srcdoc="${esc(msg.html)}"></iframe>`
            : ''),
      );
      return;
    }
    if (url.pathname === '/api/messages') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messages));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><meta charset="utf-8"><title>Mail catcher</title><h1>Mail caught by the embedded SMTP server</h1>` +
        `<p>${messages.length} message(s). Newest first. Reload to refresh.</p><ul>` +
        messages
          .map(
            (x) =>
              `<li><a href="/messages/${x.id}">${esc(x.subject)}</a> to ${esc(x.to.join(', '))} <small>${x.receivedAt.toISOString()}</small></li>`,
          )
          .join('') +
        '</ul>',
    );
  });

  const tryListen = async (server: Parameters<typeof listen>[0], port: number | undefined): Promise<void> => {
    try {
      await listen(server, port ?? 0);
    } catch {
      await listen(server, 0); // preferred port taken: any free one
    }
  };
  // smtp-server's listen has the same shape as net.Server's.
  await tryListen(smtp as unknown as Parameters<typeof listen>[0], opts.smtpPort);
  await tryListen(web, opts.httpPort);
  const smtpPort = (smtp.server.address() as { port: number }).port;
  const httpPort = (web.address() as { port: number }).port;
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    inboxUrl: `http://localhost:${httpPort}/`,
    messages,
    async close() {
      await new Promise<void>((r) => smtp.close(() => r()));
      await new Promise<void>((r) => web.close(() => r()));
    },
  };
}
