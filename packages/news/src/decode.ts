/**
 * Bytes -> text for feeds: the charset comes from a BOM, else the Content-Type header, else the
 * XML declaration, else UTF-8. Feeds often lie: when the chosen charset is UTF-8 but the bytes are
 * not valid UTF-8, the XML declaration's charset (or windows-1252, what browsers assume) is used.
 */
import iconv from 'iconv-lite';

export interface Decoded {
  text: string;
  charset: string;
  /** Where the charset came from. */
  from: 'bom' | 'header' | 'xml' | 'default' | 'fallback';
}

export function headerCharset(contentType: string | null | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m?.[1]?.toLowerCase();
}

export function xmlDeclCharset(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 256)).toString('latin1');
  const m = /^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(head.replace(/^\uFEFF|^\xEF\xBB\xBF/, ''));
  return m?.[1]?.toLowerCase();
}

const isUtf8 = (cs: string) => cs === 'utf-8' || cs === 'utf8';

function validUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export function decodeFeed(bytes: Uint8Array, contentType?: string | null): Decoded {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf)
    return { text: iconv.decode(buf, 'utf-8'), charset: 'utf-8', from: 'bom' };
  if (buf[0] === 0xfe && buf[1] === 0xff)
    return { text: iconv.decode(buf, 'utf-16be'), charset: 'utf-16be', from: 'bom' };
  if (buf[0] === 0xff && buf[1] === 0xfe)
    return { text: iconv.decode(buf, 'utf-16le'), charset: 'utf-16le', from: 'bom' };

  const fromHeader = headerCharset(contentType);
  const fromXml = xmlDeclCharset(buf);
  let charset: string;
  let from: Decoded['from'];
  if (fromHeader && iconv.encodingExists(fromHeader)) {
    charset = fromHeader;
    from = 'header';
  } else if (fromXml && iconv.encodingExists(fromXml)) {
    charset = fromXml;
    from = 'xml';
  } else {
    charset = 'utf-8';
    from = 'default';
  }
  if (isUtf8(charset) && !validUtf8(buf)) {
    charset = fromXml && !isUtf8(fromXml) && iconv.encodingExists(fromXml) ? fromXml : 'windows-1252';
    from = 'fallback';
  }
  return { text: iconv.decode(buf, charset), charset, from };
}
