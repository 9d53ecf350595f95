/**
 * The Telegram bot's side of the conversation, by long polling (getUpdates): `/start <token>`
 * links the chat of whoever pressed Start on a subscriber's one-time deep link, `/stop` stops
 * alerts to the chat, `/status` says what the chat receives. One poller at a time across workers
 * (Telegram answers 409 to a second concurrent getUpdates): a lease in Redis, renewed each round.
 * Updates are acknowledged by the next call's offset, so a crash re-reads them; handling is
 * idempotent (a used link is refused, a second /stop changes nothing).
 */
import type { Clock, Logger } from '@signals/core';
import { channelsOfChat, linkTelegramChat, type PrismaClient, stopChannels } from '@signals/db';
import type { TelegramClient, TelegramUpdate } from '@signals/notify';
import type { RedisConnection } from '@signals/queue';

export interface TelegramUpdatesDeps {
  prisma: PrismaClient;
  client: TelegramClient;
  logger: Logger;
  clock: Clock;
}

const HELP =
  'Market Signals alerts. Open "Get alerts on Telegram" on your preferences page to link this chat. /status shows what you get, /stop stops alerts here.';

/** Answers one update; returns what it did (for logs and tests). */
export async function handleTelegramUpdate(d: TelegramUpdatesDeps, u: TelegramUpdate): Promise<string> {
  const chatId = u.message?.chat?.id;
  const text = u.message?.text?.trim();
  if (chatId === undefined || !text) return 'ignored';
  const chat = String(chatId);
  const [cmd, arg] = text.split(/\s+/, 2);
  const command = (cmd ?? '').replace(/@\w+$/, '').toLowerCase(); // "/stop@MyBot" in groups
  const now = d.clock.now();
  let reply: string;
  let did: string;
  if (command === '/start' && arg) {
    const linked = await linkTelegramChat(d.prisma, { token: arg, chatId: chat, now });
    if (linked) {
      reply = 'Linked: Market Signals alerts will arrive in this chat. /status shows what you get, /stop stops them.';
      did = 'linked';
    } else {
      reply = 'This link is not valid any more (used or expired). Open your preferences page for a new one.';
      did = 'refused';
    }
  } else if (command === '/stop') {
    const n = await stopChannels(d.prisma, { chatId: chat }, now);
    reply = n
      ? 'Stopped: no more alerts in this chat. Your preferences page has a link to start again.'
      : 'Nothing to stop: this chat receives no alerts.';
    did = n ? 'stopped' : 'nothing-to-stop';
  } else if (command === '/status') {
    const chs = await channelsOfChat(d.prisma, chat);
    const live = chs.filter((c) => c.status === 'confirmed' && c.subscriber.status === 'confirmed');
    reply = live.length
      ? `Alerts are on in this chat (${live.map((c) => `${c.subscriber._count.subscriptions} subscription(s)`).join(', ')}). /stop stops them.`
      : 'No alerts are sent to this chat.';
    did = 'status';
  } else {
    reply = HELP;
    did = 'help';
  }
  try {
    await d.client.sendText(chat, reply);
  } catch (err) {
    // The state change stands; the answer is a courtesy.
    d.logger.warn({ err: (err as Error).message, did }, 'telegram reply not sent');
  }
  return did;
}

/** One getUpdates round: handles what arrived and returns the next offset. */
export async function pollTelegramOnce(
  d: TelegramUpdatesDeps,
  offset: number | undefined,
  waitSec: number,
): Promise<number | undefined> {
  const updates = await d.client.getUpdates(offset, waitSec);
  let next = offset;
  for (const u of updates) {
    try {
      const did = await handleTelegramUpdate(d, u);
      d.logger.info({ updateId: u.update_id, did }, 'telegram update handled');
    } catch (err) {
      // A bad update must not block the ones after it: logged and acknowledged.
      d.logger.error({ updateId: u.update_id, err: (err as Error).message }, 'telegram update failed');
    }
    next = Math.max(next ?? 0, u.update_id + 1);
  }
  return next;
}

export interface TelegramLoop {
  close(): Promise<void>;
}

/** Runs rounds until closed, while holding the Redis lease; backs off on errors. */
export function startTelegramUpdates(
  d: TelegramUpdatesDeps & {
    redis: RedisConnection;
    prefix: string;
    waitSec?: number;
    leaseMs?: number;
    /**
     * Each round's outcome, for the loop catalog's `telegram` heartbeat: no error after a round
     * Telegram answered, the error after one that failed. Only the lease holder polls and reports.
     */
    onRound?: (err?: unknown) => Promise<void> | void;
  },
): TelegramLoop {
  const key = `${d.prefix}:telegram:poller`;
  const me = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  const waitSec = d.waitSec ?? 25;
  const leaseMs = d.leaseMs ?? (waitSec + 30) * 1000;
  let running = true;
  let offset: number | undefined;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  const holdLease = async () => {
    const got = await d.redis.set(key, me, 'PX', leaseMs, 'NX');
    if (got === 'OK') return true;
    if ((await d.redis.get(key)) === me) {
      await d.redis.pexpire(key, leaseMs);
      return true;
    }
    return false;
  };
  const loop = (async () => {
    let backoff = 1000;
    while (running) {
      try {
        if (!(await holdLease())) {
          await sleep(5000);
          continue;
        }
        const started = Date.now();
        const before = offset;
        offset = await pollTelegramOnce(d, offset, waitSec);
        backoff = 1000;
        await d.onRound?.();
        // A server that answers at once with nothing (no long polling) must not make this spin.
        if (offset === before && Date.now() - started < 1000) await sleep(1000);
      } catch (err) {
        if (!running) break;
        d.logger.warn({ err: (err as Error).message, retryInMs: backoff }, 'telegram polling failed');
        await d.onRound?.(err);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
  })();
  return {
    async close() {
      running = false;
      wake?.();
      // A long poll in flight ends within its wait; do not hold shutdown for it.
      await Promise.race([loop, new Promise((r) => setTimeout(r, 1000))]);
      if ((await d.redis.get(key).catch(() => null)) === me) await d.redis.del(key).catch(() => 0);
    },
  };
}
