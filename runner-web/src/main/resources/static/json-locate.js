// Finds where a field path such as `models[1].regions[0]` sits in a JSON text, so a validation
// error from the API can point at the line the user has to fix.
//
// indexJson(text) scans the text once (a small tolerant JSON reader) and returns
// {positions: Map(path -> offset), error: {offset, message} | null}. The offset of an object
// member is that of its key; of an array element, that of the element itself. The root is `$`.

export function indexJson(text) {
  const positions = new Map();
  let pos = 0;

  const fail = (message) => {
    const err = new Error(message);
    err.offset = pos;
    throw err;
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const readString = () => {
    if (text[pos] !== '"') fail('expected a string');
    pos++;
    let out = '';
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === '\\') {
        const next = text[pos + 1];
        if (next === 'u') {
          out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
          pos += 6;
          continue;
        }
        out += ({n: '\n', t: '\t', r: '\r', b: '\b', f: '\f'})[next] ?? next;
        pos += 2;
        continue;
      }
      if (text[pos] === '\n') fail('unterminated string');
      out += text[pos++];
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return out;
  };
  const child = (path, name) => (path === '$' ? name : `${path}.${name}`);

  const readValue = (path) => {
    skipSpace();
    if (!positions.has(path)) positions.set(path, pos);
    const c = text[pos];
    if (c === '{') {
      pos++;
      skipSpace();
      if (text[pos] === '}') { pos++; return; }
      for (;;) {
        skipSpace();
        const keyAt = pos;
        const name = readString();
        positions.set(child(path, name), keyAt);
        skipSpace();
        if (text[pos] !== ':') fail(`expected ':' after "${name}"`);
        pos++;
        readValue(child(path, name));
        positions.set(child(path, name), keyAt);
        skipSpace();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === '}') { pos++; return; }
        fail("expected ',' or '}'");
      }
    } else if (c === '[') {
      pos++;
      skipSpace();
      if (text[pos] === ']') { pos++; return; }
      for (let i = 0; ; i++) {
        readValue(`${path}[${i}]`);
        skipSpace();
        if (text[pos] === ',') { pos++; continue; }
        if (text[pos] === ']') { pos++; return; }
        fail("expected ',' or ']'");
      }
    } else if (c === '"') {
      readString();
    } else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 64));
      if (!m) fail(pos >= text.length ? 'unexpected end of input' : `unexpected '${c}'`);
      pos += m[0].length;
    }
  };

  let error = null;
  try {
    readValue('$');
    skipSpace();
    if (pos < text.length) fail('unexpected text after the JSON value');
  } catch (e) {
    error = {offset: e.offset ?? pos, message: e.message};
  }
  return {positions, error};
}

/** 1-based line number of a character offset. */
export function lineOf(text, offset) {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/**
 * The 1-based line of `field` in `text`, falling back to the nearest enclosing path that exists
 * (a missing `limits.maxAttempts` points at `limits`); null if nothing but the root matches.
 */
export function lineOfField(text, field, index = indexJson(text)) {
  let path = normalise(field);
  const wanted = path;
  while (path) {
    // The whole document stands for a field only when the error is about the whole document.
    if (path === '$' && wanted !== '$') return null;
    if (index.positions.has(path)) return lineOf(text, index.positions.get(path));
    const parent = parentOf(path);
    if (parent === path) break;
    path = parent;
  }
  return null;
}

function normalise(field) {
  if (!field || field === '$' || field === '/') return '$';
  let f = String(field).trim();
  if (f.startsWith('/')) { // JSON pointer: /models/1/regions/0
    f = f.slice(1).split('/').map(p => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
  }
  return f.replace(/^\$\.?/, '') || '$';
}

function parentOf(path) {
  if (path === '$') return null;
  const m = /^(.*)(\[\d+\]|\.[^.[\]]+)$/.exec(path);
  if (m) return m[1] || '$';
  return '$';
}
