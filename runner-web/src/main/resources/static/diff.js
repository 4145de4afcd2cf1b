// Word-level diff of two answers by longest common subsequence.
//
// diffWords(base, other) returns the tokens of both texts as one sequence of parts
// {kind: 'same' | 'add' | 'del' | 'space', text}: 'add' are words only in `other`,
// 'del' words only in `base`. Whitespace is kept as 'space' parts so the text reads as
// written; it never counts as a difference.

const MAX_CELLS = 4_000_000; // beyond this the table would be too large: report "no diff"

/** Splits text into words and the whitespace between them. */
export function tokenize(text) {
  if (!text) return [];
  return String(text).split(/(\s+)/).filter(t => t.length > 0);
}

function isSpace(token) {
  return /^\s+$/.test(token);
}

/** Normalises a word for comparison: case and surrounding punctuation do not make a difference. */
function key(word) {
  const stripped = word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  return stripped.length > 0 ? stripped : word;
}

/**
 * Diffs `other` against `base`, word by word.
 * Returns {parts, same, added, removed, truncated}; `truncated` is true when the texts were too long
 * to diff (then every word of `other` is reported as 'same').
 */
export function diffWords(base, other) {
  const a = tokenize(base).filter(t => !isSpace(t));
  const bTokens = tokenize(other);
  const b = bTokens.filter(t => !isSpace(t));
  const n = a.length;
  const m = b.length;

  if ((n + 1) * (m + 1) > MAX_CELLS) {
    return {parts: bTokens.map(t => ({kind: isSpace(t) ? 'space' : 'same', text: t})),
      same: m, added: 0, removed: 0, truncated: true};
  }

  // lengths[i][j] = LCS length of a[i..] and b[j..], stored row by row in one typed array.
  const width = m + 1;
  const lengths = new Uint32Array((n + 1) * width);
  const ak = a.map(key);
  const bk = b.map(key);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] = ak[i] === bk[j]
        ? lengths[(i + 1) * width + j + 1] + 1
        : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
    }
  }

  // Walk the table front to back, emitting words of `other` with the whitespace that followed
  // them in `other`, and removed words of `base` where they belong.
  const spaceAfter = [];
  {
    let w = -1;
    const leading = [];
    for (const t of bTokens) {
      if (isSpace(t)) {
        if (w < 0) leading.push(t); else spaceAfter[w] = (spaceAfter[w] || '') + t;
      } else {
        w++;
      }
    }
    spaceAfter.leading = leading.join('');
  }

  const parts = [];
  if (spaceAfter.leading) parts.push({kind: 'space', text: spaceAfter.leading});
  let i = 0;
  let j = 0;
  let same = 0;
  let added = 0;
  let removed = 0;
  const pushWord = (kind, text, trailing) => {
    parts.push({kind, text});
    if (trailing) parts.push({kind: 'space', text: trailing});
  };
  while (i < n || j < m) {
    if (i < n && j < m && ak[i] === bk[j]) {
      pushWord('same', b[j], spaceAfter[j]);
      i++; j++; same++;
    } else if (j < m && (i >= n || lengths[i * width + j + 1] >= lengths[(i + 1) * width + j])) {
      pushWord('add', b[j], spaceAfter[j]);
      j++; added++;
    } else {
      const last = parts[parts.length - 1];
      if (last && last.kind !== 'space') parts.push({kind: 'space', text: ' '});
      pushWord('del', a[i], ' ');
      i++; removed++;
    }
  }
  return {parts, same, added, removed, truncated: false};
}
