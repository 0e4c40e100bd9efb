// Render every string of a translations file the way Home Assistant's frontend does
// (src/common/translations/localize.ts: new IntlMessageFormat(text, language).format(args)),
// and print, as JSON, each string the browser would replace by "Translation error: ...".
//
// Usage: node render_strings.mjs translations/en.json
import { readFileSync } from "node:fs";
import { IntlMessageFormat } from "intl-messageformat";

const ARGUMENT_TYPES = new Set([1, 2, 3, 4, 5, 6]); // argument, number, date, time, select, plural

function argumentNames(elements, names = new Set()) {
  for (const element of elements) {
    if (ARGUMENT_TYPES.has(element.type)) names.add(element.value);
    if (element.children) argumentNames(element.children, names);
    if (element.options) {
      for (const option of Object.values(element.options)) argumentNames(option.value, names);
    }
  }
  return names;
}

function* leaves(node, path = []) {
  if (typeof node === "string") {
    yield [path.join("."), node];
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) yield* leaves(value, [...path, key]);
  }
}

const failures = [];
let rendered = 0;
for (const [key, text] of leaves(JSON.parse(readFileSync(process.argv[2], "utf8")))) {
  try {
    const message = new IntlMessageFormat(text, "en");
    // The frontend passes the placeholders the backend sends; any string value will do.
    const args = {};
    for (const name of argumentNames(message.getAst())) args[name] = "x";
    message.format(args);
    rendered += 1;
  } catch (err) {
    failures.push({ key, text, error: `Translation error: ${err.message}` });
  }
}
process.stdout.write(JSON.stringify({ rendered, failures }) + "\n");
