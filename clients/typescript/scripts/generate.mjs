// Writes src/frames.ts: the TypeScript types of every WebSocket frame, from
// the JSON Schema the server's Rust types generate (proto/schema/*.json).
//
//   npm run generate          rewrite src/frames.ts
//   npm run check-generated   fail if src/frames.ts is not what the schema gives
//
// The schema is the contract's source of truth (the Rust tests keep it equal
// to the types the server uses); generating from it means the client's types
// cannot drift from the server's without this check failing.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const schemas = [
  { file: here('../../../proto/schema/client-frame.schema.json'), name: 'ClientFrame', side: 'Client' },
  { file: here('../../../proto/schema/server-frame.schema.json'), name: 'ServerFrame', side: 'Server' },
];
const target = here('../src/frames.ts');

const BANNER = `/**
 * The frames of Switchboard's WebSocket protocol (v1), generated from
 * proto/schema/*.schema.json by scripts/generate.mjs. Do not edit: run
 * \`npm run generate\` after the schema changes (\`npm run check-generated\`
 * fails while this file is stale).
 */
/* eslint-disable */`;

async function generate() {
  const parts = [BANNER];
  const seen = new Map();
  for (const { file, name, side } of schemas) {
    const schema = JSON.parse(await readFile(file, 'utf8'));
    schema.title = name;
    schema.oneOf = schema.oneOf.map((variant) => namedVariant(variant, side));
    const code = await compile(schema, name, {
      bannerComment: '',
      additionalProperties: false,
      unreachableDefinitions: true,
      strictIndexSignatures: true,
      format: true,
      style: { singleQuote: true, printWidth: 100 },
    });
    parts.push(dropRepeated(code, seen));
  }
  return `${parts.join('\n').trim()}\n`;
}

/**
 * A variant of the schema's `oneOf` is the shape it refers to plus its
 * `type` tag (`{"$ref": "#/$defs/Join", "properties": {"type": {"const":
 * "join"}}}`); it becomes a named intersection, `ClientJoin = Join & { type:
 * 'join' }` (`ServerTyping`, `ServerError`... on the server's side), which
 * json-schema-to-typescript writes as such.
 */
function namedVariant(variant, side) {
  const { $ref, description, properties, required } = variant;
  const tag = properties.type.const;
  return {
    title: `${side}${pascal(tag)}`,
    description,
    allOf: [{ $ref }, { type: 'object', properties: { type: properties.type }, required }],
  };
}

function pascal(tag) {
  return tag.replace(/(^|_)([a-z0-9])/g, (_, _sep, letter) => letter.toUpperCase());
}

/**
 * Both schemas define some shapes (`Availability`): the second definition of
 * a name is left out, after checking it is the same as the first.
 */
function dropRepeated(code, seen) {
  const blocks = code.split(/\n(?=(?:\/\*\*[\s\S]*?\*\/\n)?export )/);
  const kept = [];
  for (const block of blocks) {
    const match = /export (?:type|interface) (\w+)/.exec(block);
    if (!match) {
      kept.push(block);
      continue;
    }
    if (seen.has(match[1])) {
      if (seen.get(match[1]) !== block.trim()) {
        throw new Error(`the two schemas define ${match[1]} differently`);
      }
      continue;
    }
    seen.set(match[1], block.trim());
    kept.push(block);
  }
  return kept.join('\n');
}

const fresh = await generate();
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== fresh) {
    console.error('src/frames.ts is not what proto/schema gives: run `npm run generate` and commit it');
    process.exit(1);
  }
  console.log('src/frames.ts matches proto/schema');
} else {
  await writeFile(target, fresh);
  console.log('wrote src/frames.ts');
}
