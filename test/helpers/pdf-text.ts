/**
 * The text a PDF shows, as far as Chromium's (Skia's) PDFs go: each page's content streams decoded through the
 * ToUnicode map of the font in use (Type0 fonts, Identity-H, two-byte codes). Enough for tests to check that a
 * text is, or is not, printed, without a PDF library. Also: whether the PDF holds an image.
 */
import { inflateSync } from 'node:zlib';

interface PdfObject {
  dict: string;
  stream: Buffer | null;
}

function objectsOf(pdf: Buffer): Map<number, PdfObject> {
  const source = pdf.toString('latin1');
  const objects = new Map<number, PdfObject>();
  for (const match of source.matchAll(/(\d+) 0 obj\s*([\s\S]*?)endobj/g)) {
    const body = match[2]!;
    const streamAt = body.search(/stream\r?\n/);
    if (streamAt < 0) {
      objects.set(Number(match[1]), { dict: body, stream: null });
      continue;
    }
    const dict = body.slice(0, streamAt);
    const start = match.index! + match[0].indexOf(body) + streamAt + (body.slice(streamAt).startsWith('stream\r\n') ? 8 : 7);
    const end = source.lastIndexOf('endstream', match.index! + match[0].length);
    let stream = pdf.subarray(start, end);
    if (/\/FlateDecode/.test(dict)) {
      try {
        stream = inflateSync(stream);
      } catch {
        // leave it as it is
      }
    }
    objects.set(Number(match[1]), { dict, stream });
  }
  return objects;
}

/** A ToUnicode CMap: code (hex, upper case) → text. */
function cmapOf(text: string): Map<string, string> {
  const map = new Map<string, string>();
  const utf16 = (hex: string) => {
    const units: number[] = [];
    for (let i = 0; i + 4 <= hex.length; i += 4) units.push(parseInt(hex.slice(i, i + 4), 16));
    return String.fromCharCode(...units);
  };
  for (const block of text.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const pair of block[1]!.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) map.set(pair[1]!.toUpperCase(), utf16(pair[2]!));
  }
  for (const block of text.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const range of block[1]!.matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<([0-9A-Fa-f]+)>|\[([^\]]*)\])/g)) {
      const width = range[1]!.length;
      const low = parseInt(range[1]!, 16);
      const high = parseInt(range[2]!, 16);
      const list = range[5] ? [...range[5].matchAll(/<([0-9A-Fa-f]+)>/g)].map((m) => m[1]!) : null;
      const first = range[4] ? parseInt(range[4], 16) : 0;
      for (let code = low; code <= high; code++) {
        const key = code.toString(16).toUpperCase().padStart(width, '0');
        map.set(key, list ? utf16(list[code - low] ?? '') : String.fromCodePoint(first + code - low));
      }
    }
  }
  return map;
}

const refsIn = (text: string) => [...text.matchAll(/(\d+) 0 R/g)].map((m) => Number(m[1]));

/** The text runs of every page, in order, one per line. */
export function pdfText(pdf: Buffer): string {
  const objects = objectsOf(pdf);
  const dictOf = (text: string, key: string): string => {
    const inline = new RegExp(`/${key}\\s*<<`).exec(text);
    if (inline) {
      // the balanced << ... >> after the key
      let depth = 0;
      for (let i = inline.index + inline[0].length - 2; i < text.length; i++) {
        if (text.startsWith('<<', i)) {
          depth++;
          i++;
        } else if (text.startsWith('>>', i)) {
          depth--;
          i++;
          if (depth === 0) return text.slice(inline.index + inline[0].length, i - 1);
        }
      }
    }
    const ref = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(text);
    return ref ? (objects.get(Number(ref[1]))?.dict ?? '') : '';
  };
  const cmaps = new Map<number, Map<string, string>>();
  const fontMap = (fontObject: number): Map<string, string> => {
    let map = cmaps.get(fontObject);
    if (!map) {
      const ref = /\/ToUnicode\s+(\d+) 0 R/.exec(objects.get(fontObject)?.dict ?? '');
      map = cmapOf(ref ? (objects.get(Number(ref[1]))?.stream?.toString('latin1') ?? '') : '');
      cmaps.set(fontObject, map);
    }
    return map;
  };
  const lines: string[] = [];
  const pages = [...objects.values()].filter((o) => /\/Type\s*\/Page(?![a-z])/.test(o.dict));
  for (const page of pages) {
    const fonts = new Map<string, number>();
    for (const entry of dictOf(dictOf(page.dict, 'Resources'), 'Font').matchAll(/\/([^\s/<>[\]]+)\s+(\d+) 0 R/g)) fonts.set(entry[1]!, Number(entry[2]));
    const contents = /\/Contents\s*(\[[^\]]*\]|\d+ 0 R)/.exec(page.dict)?.[1] ?? '';
    for (const ref of refsIn(contents)) {
      const stream = objects.get(ref)?.stream?.toString('latin1') ?? '';
      let map = new Map<string, string>();
      let line = '';
      for (const token of stream.matchAll(/\/([^\s/<>[\]]+)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f\s]*)>|\b(ET)\b/g)) {
        if (token[1] !== undefined) map = fontMap(fonts.get(token[1]) ?? -1);
        else if (token[2] !== undefined) {
          const hex = token[2].replace(/\s+/g, '').toUpperCase();
          for (let i = 0; i + 4 <= hex.length; i += 4) line += map.get(hex.slice(i, i + 4)) ?? '\uFFFD';
        } else if (token[3]) {
          if (line) lines.push(line);
          line = '';
        }
      }
      if (line) lines.push(line);
    }
  }
  return lines.join('\n');
}

/** Whether the PDF prints `text` (whitespace ignored: a line may be split into several runs). */
export function pdfShows(pdf: Buffer, text: string): boolean {
  return pdfText(pdf).replace(/\s+/g, '').includes(text.replace(/\s+/g, ''));
}

/** How many image XObjects the PDF holds. */
export function pdfImageCount(pdf: Buffer): number {
  return [...objectsOf(pdf).values()].filter((o) => /\/Subtype\s*\/Image\b/.test(o.dict)).length;
}

/** The size (`WIDTHxHEIGHT`, in pixels) of each image XObject of the PDF. */
export function pdfImageSizes(pdf: Buffer): string[] {
  return [...objectsOf(pdf).values()]
    .filter((o) => /\/Subtype\s*\/Image\b/.test(o.dict))
    .map((o) => `${/\/Width\s+(\d+)/.exec(o.dict)?.[1] ?? '?'}x${/\/Height\s+(\d+)/.exec(o.dict)?.[1] ?? '?'}`);
}
