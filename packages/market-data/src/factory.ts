import type { Clock, Logger, PriceSource } from '@signals/core';
import { ValidationError } from '@signals/core';
import { ReplayPriceSource } from './replay.ts';
import { YahooPriceSource, type YahooPriceSourceOptions } from './yahoo/source.ts';

/**
 * Builds the price source named by PRICE_SOURCE: "yahoo" (default) or "replay:<path>" (a recorded
 * chart file or a folder of them, played against `clock`). Apps read the variable; this takes it
 * as a plain string.
 */
export async function createPriceSource(
  spec: string | undefined,
  deps: { clock: Clock; logger?: Logger; yahoo?: YahooPriceSourceOptions },
): Promise<PriceSource> {
  const s = (spec ?? 'yahoo').trim();
  if (s === '' || s === 'yahoo') return new YahooPriceSource({ clock: deps.clock, logger: deps.logger, ...deps.yahoo });
  if (s.startsWith('replay:')) {
    const p = s.slice('replay:'.length);
    if (!p) throw new ValidationError('PRICE_SOURCE=replay:<path> needs a path');
    return ReplayPriceSource.fromPath(p, { clock: deps.clock, logger: deps.logger });
  }
  throw new ValidationError(`unknown price source "${s}" (expected "yahoo" or "replay:<path>")`);
}
