/**
 * Fake ntfy and Telegram Bot API servers over real sockets, for channel tests: they record what
 * they receive and answer as the real services do, including 429 with Retry-After (ntfy) or
 * `parameters.retry_after` (Telegram). Scripted answers are queued per call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NtfyPublish {
  topic: string;
  title?: string;
  message?: string;
  priority?: number;
  tags?: string[];
  click?: string;
  authorization: string | null;
  at: number;
}

export interface FakeNtfy {
  url: string;
  received: NtfyPublish[];
  /** Next answers, in order (default 200). */
  answers: { status: number; retryAfter?: string }[];
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startFakeNtfy(): Promise<FakeNtfy> {
  const fake: Omit<FakeNtfy, 'url' | 'close'> = { received: [], answers: [] };
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const answer = fake.answers.shift() ?? { status: 200 };
    if (answer.status === 200) {
      try {
        const j = JSON.parse(body) as Omit<NtfyPublish, 'authorization' | 'at'>;
        fake.received.push({ ...j, authorization: req.headers.authorization ?? null, at: Date.now() });
      } catch {
        res.writeHead(400).end('{"error":"invalid JSON"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"abc","event":"message"}');
      return;
    }
    res
      .writeHead(answer.status, {
        'content-type': 'application/json',
        ...(answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}),
      })
      .end(`{"code":${answer.status},"error":"scripted"}`);
  });
  const url = await listen(server);
  return Object.assign(fake, {
    url,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as FakeNtfy;
}

export interface FakeTelegram {
  url: string;
  token: string;
  sent: { chat_id: string; text: string; at: number }[];
  /** Updates waiting for the next getUpdates. */
  pending: { update_id: number; message: { chat: { id: number }; text: string } }[];
  /** Next sendMessage answers (default ok). */
  answers: { error_code: number; description: string; retry_after?: number }[];
  /** Adds a message from a chat as the next update. */
  say(chatId: number, text: string): void;
  /** Calls with a wrong bot token seen (should stay 0). */
  wrongToken: number;
  close(): Promise<void>;
}

export async function startFakeTelegram(token = '123456:TEST-token-abcdefghijklmnopqrstuvwx'): Promise<FakeTelegram> {
  let nextId = 1;
  const fake = {
    token,
    sent: [] as FakeTelegram['sent'],
    pending: [] as FakeTelegram['pending'],
    answers: [] as FakeTelegram['answers'],
    wrongToken: 0,
    say(chatId: number, text: string) {
      fake.pending.push({ update_id: nextId++, message: { chat: { id: chatId }, text } });
    },
  };
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const json = (status: number, v: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    if (!m || m[1] !== token) {
      fake.wrongToken++;
      return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const params = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
    if (m[2] === 'getUpdates') {
      const offset = typeof params.offset === 'number' ? params.offset : 0;
      // Updates below the offset are acknowledged: Telegram forgets them.
      fake.pending = fake.pending.filter((u) => u.update_id >= offset);
      return json(200, { ok: true, result: fake.pending });
    }
    if (m[2] === 'sendMessage') {
      const a = fake.answers.shift();
      if (a) {
        return json(a.error_code, {
          ok: false,
          error_code: a.error_code,
          description: a.description,
          ...(a.retry_after ? { parameters: { retry_after: a.retry_after } } : {}),
        });
      }
      fake.sent.push({ chat_id: String(params.chat_id), text: String(params.text), at: Date.now() });
      return json(200, { ok: true, result: { message_id: fake.sent.length } });
    }
    return json(404, { ok: false, error_code: 404, description: 'Not Found' });
  });
  const url = await listen(server);
  return Object.assign(fake, { url, close: () => new Promise<void>((r) => server.close(() => r())) }) as FakeTelegram;
}
