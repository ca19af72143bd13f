/**
 * Renders a location inside a JSON document the way users read it in error messages:
 * dotted member names with [i] indices (`linux.namespaces[2].type`), and ["..."] for keys
 * that are not plain identifiers (`linux.sysctl["net.ipv4.ip_forward"]`).
 */
export type JsonPath = ReadonlyArray<string | number>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatJsonPath(path: JsonPath, root = ''): string {
  let out = root;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(document)' : out;
}

/** One violation: where it is and which rule it breaks. */
export interface Issue {
  path: JsonPath;
  message: string;
}
