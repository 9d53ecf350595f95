/**
 * Issue 18's template bomb: 103 characters of Liquid that double a capture 26 times, building a
 * 268-million-character string. It passed the old limits (LiquidJS counts no capture): seconds of
 * a blocked event loop and hundreds of MB per render. Tests store it behind the save check too.
 */
export const TEMPLATE_BOMB =
  '{%capture s%}xxxx{%endcapture%}{%for i in (1..26)%}{%capture s%}{{s}}{{s}}{%endcapture%}{%endfor%}{{s}}';
