/**
 * Telegram Bot API: sendMessage for alerts, getUpdates (long polling) for /start <token>, /stop
 * and /status. The base URL is the operator's (TELEGRAM_API_BASE_URL, https://api.telegram.org by
 * default; a local fake in tests), not a subscriber's, so no SSRF guard applies; the bot token is
 * part of every URL and is kept out of every error and log line.
 *
 * Outcomes: 429 carries `parameters.retry_after` (seconds); 403 (the user blocked the bot) and 400
 * "chat not found" are permanent, and {@link TelegramChatGoneError} tells the caller to stop the
 * channel; 5xx and network failures are transient.
 */
import { PermanentDeliveryError, TransientDeliveryError } from '@signals/core';
import { redactSecrets } from '../../redact.ts';
import type { ShortMessage } from '../types.ts';

export interface TelegramOptions {
  botToken: string;
  /** Default https://api.telegram.org. */
  apiBaseUrl?: string;
  /** Budget of one sendMessage (default 10 s); getUpdates adds its long-poll timeout. */
  timeoutMs?: number;
}

/** The chat is gone for this bot (blocked, deleted, kicked): stop sending to it. */
export class TelegramChatGoneError extends PermanentDeliveryError {}

export interface TelegramUpdate {
  update_id: number;
  message?: { chat?: { id?: number | string }; text?: string };
}

interface ApiAnswer<T> {
  ok: boolean;
  result?: T;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

export interface TelegramClient {
  call<T>(method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  getUpdates(offset: number | undefined, waitSec: number): Promise<TelegramUpdate[]>;
  sendText(chatId: string, text: string): Promise<void>;
}

export function formatTelegramText(m: ShortMessage): string {
  if (m.fullText) return m.fullText.slice(0, 4096);
  return `${m.title}\n\n${m.body}${m.click && !m.body.includes(m.click) ? `\n${m.click}` : ''}`.slice(0, 4096);
}

export function createTelegramClient(options: TelegramOptions): TelegramClient {
  const base = (options.apiBaseUrl ?? 'https://api.telegram.org').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const hide = (s: string) => redactSecrets(s, [options.botToken]);

  async function call<T>(method: string, params: Record<string, unknown>, budgetMs = timeoutMs): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}/bot${options.botToken}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        redirect: 'manual',
        signal: AbortSignal.timeout(budgetMs),
      });
    } catch (err) {
      const name = (err as Error).name;
      throw new TransientDeliveryError(
        name === 'TimeoutError' ? `Telegram timed out after ${budgetMs} ms` : 'Telegram connection failed',
      );
    }
    const text = await res.text().catch(() => '');
    let answer: ApiAnswer<T> | undefined;
    try {
      answer = JSON.parse(text) as ApiAnswer<T>;
    } catch {
      answer = undefined;
    }
    if (res.ok && answer?.ok) return answer.result as T;
    const code = answer?.error_code ?? res.status;
    const why = hide(answer?.description ?? `HTTP ${res.status}`).slice(0, 200);
    if (code === 429) {
      const after = answer?.parameters?.retry_after;
      throw new TransientDeliveryError(`Telegram answered 429: ${why}`, 429, after ? after * 1000 : undefined);
    }
    if (code >= 500 || code === 0) throw new TransientDeliveryError(`Telegram answered ${code}: ${why}`, code);
    if (code === 403 || (code === 400 && /chat not found|user is deactivated/i.test(why)))
      throw new TelegramChatGoneError(`Telegram answered ${code}: ${why}`, code);
    throw new PermanentDeliveryError(`Telegram answered ${code}: ${why}`, code);
  }

  const sendText = async (chatId: string, text: string) => {
    await call('sendMessage', { chat_id: chatId, text, disable_web_page_preview: true });
  };

  return {
    call,
    sendText,
    async getUpdates(offset, waitSec) {
      return call<TelegramUpdate[]>(
        'getUpdates',
        { ...(offset !== undefined ? { offset } : {}), timeout: waitSec, allowed_updates: ['message'] },
        timeoutMs + waitSec * 1000,
      );
    },
  };
}
