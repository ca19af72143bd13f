import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template, formatRows, goString } from '../../src/cli/format/template';
import { alignColumns, renderTable } from '../../src/cli/format/table';
import { humanDuration, humanSize, timeAgo, binarySize } from '../../src/cli/format/human';
import { BerthError } from '../../src/core/errors';

const run = (src: string, v: unknown) => new Template(src).execute(v);

test('template: fields, nested fields, root and literals', () => {
  const v = { ID: 'abc', State: { Status: 'running', Pid: 42 }, Names: ['/web', '/db'] };
  assert.equal(run('{{.ID}}', v), 'abc');
  assert.equal(run('id={{.ID}} st={{.State.Status}}', v), 'id=abc st=running');
  assert.equal(run('{{.State.Pid}}', v), '42');
  assert.equal(run('{{.Names}}', v), '[/web /db]');
  assert.equal(run('{{.State}}', v), 'map[Pid:42 Status:running]');
  assert.equal(run('{{"x\\ty"}}', v), 'x\ty');
  assert.equal(run('{{with .State}}{{.Status}} {{$.ID}}{{end}}', v), 'running abc');
});

test('template: json, join, index, upper/lower, printf, len, pipelines', () => {
  const v = { ID: 'abc', Labels: { a: '1', 'com.x': 'y' }, Names: ['web', 'db'], N: null };
  assert.equal(run('{{json .}}', v), JSON.stringify(v));
  assert.equal(run('{{json .Labels}}', v), '{"a":"1","com.x":"y"}');
  assert.equal(run('{{join .Names ","}}', v), 'web,db');
  assert.equal(run('{{index .Labels "com.x"}}', v), 'y');
  assert.equal(run('{{.ID | upper}}', v), 'ABC');
  assert.equal(run('{{upper .ID | lower}}', v), 'abc');
  assert.equal(run('{{printf "%s-%d" .ID 7}}', v), 'abc-7');
  assert.equal(run('{{len .Names}}', v), '2');
  assert.equal(run('{{.N}}', v), '<nil>');
  assert.equal(run('{{json (index .Labels "a")}}', v), '"1"');
});

test('template: if / else if / else, range with else, eq/ne, trim markers', () => {
  const v = { S: 'exited', L: [1, 2, 3], E: [] as number[], B: false };
  assert.equal(run('{{if eq .S "running"}}up{{else if eq .S "exited"}}down{{else}}?{{end}}', v), 'down');
  assert.equal(run('{{if .B}}y{{else}}n{{end}}', v), 'n');
  assert.equal(run('{{range .L}}<{{.}}>{{end}}', v), '<1><2><3>');
  assert.equal(run('{{range .E}}x{{else}}none{{end}}', v), 'none');
  assert.equal(run('a  {{- .S -}}  b', v), 'aexitedb');
  assert.equal(run('{{if and .L (not .B)}}ok{{end}}', v), 'ok');
});

test('template: errors name the problem', () => {
  const bad = (src: string, v: unknown, re: RegExp) =>
    assert.throws(() => run(src, v), (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message));
  bad('{{.ID.Nope}}', { ID: 1 }, /can't evaluate field Nope in \.ID\.Nope: int has no fields/);
  bad('{{$y}}', {}, /undefined variable: \$y/);
  bad('{{.ID', {}, /unclosed action/);
  bad('{{if .A}}x', { A: 1 }, /has no \{\{end\}\}/);
  bad('{{end}}', {}, /unexpected \{\{end\}\}/);
  bad('{{frob .A}}', { A: 1 }, /function "frob" not defined/);
  bad('{{"abc}}', {}, /unclosed action|unterminated string/);
});

test('template: methods on rows are called (computed columns)', () => {
  class Row {
    constructor(private readonly id: string) {}
    ID(): string {
      return this.id.slice(0, 3);
    }
  }
  assert.equal(run('{{.ID}}', new Row('abcdef')), 'abc');
});

test('formatRows: table directive with headers and aligned columns; json; plain', () => {
  const rows = [
    { ID: 'a1', Names: 'web', Status: 'Up 2 minutes' },
    { ID: 'bbbbbbbbbbbb2', Names: 'db', Status: 'Exited (0)' },
  ];
  const headers = { ID: 'CONTAINER ID', Names: 'NAMES', Status: 'STATUS' };
  const out = formatRows('table {{.ID}}\\t{{.Names}}\\t{{.Status}}', rows, { headers });
  assert.deepEqual(out.split('\n'), [
    'CONTAINER ID    NAMES     STATUS',
    'a1              web       Up 2 minutes',
    'bbbbbbbbbbbb2   db        Exited (0)',
    '',
  ]);
  assert.equal(formatRows('{{.Names}}', rows, { headers }), 'web\ndb\n');
  assert.equal(formatRows('json', rows, { headers }), rows.map((r) => JSON.stringify(r) + '\n').join(''));
});

test('alignColumns / renderTable: minimum width 10 and padding 3', () => {
  assert.equal(renderTable(['A', 'B'], [['x', 'y']]), 'A         B\nx         y\n');
  assert.equal(alignColumns(['longer-than-ten\tz', 'a\tb']), 'longer-than-ten   z\na                 b\n');
});

test('goString renders like Go %v', () => {
  assert.equal(goString([1, 'a', true]), '[1 a true]');
  assert.equal(goString({ b: 1, a: [2] }), 'map[a:[2] b:1]');
  assert.equal(goString(null), '<nil>');
  assert.equal(goString(undefined), '<no value>');
});

test('human sizes and durations as docker prints them', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(123), '123B');
  assert.equal(humanSize(1234), '1.23kB');
  assert.equal(humanSize(4261642), '4.26MB');
  assert.equal(humanSize(1_500_000_000), '1.5GB');
  assert.equal(binarySize(1536), '1.5KiB');
  assert.equal(binarySize(64 * 1024 * 1024), '64MiB');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(3600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3600_000), '5 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanDuration(21 * 86400_000), '3 weeks');
  assert.equal(humanDuration(90 * 86400_000), '3 months');
  assert.equal(humanDuration(800 * 86400_000), '2 years');
  assert.equal(timeAgo(1000, 61_000 + 1000 + 30_000), 'About a minute ago');
});

/**
 * Expected outputs are what Go's text/template (with docker's functions, over JSON decoded into
 * Go maps as docker's inspect fallback does) prints for the same template and data.
 */
test('template: variables, range $k $v, printf widths, index with fields, nil and missing fields (Go outputs)', () => {
  const v = { ID: 'abc', Labels: { b: '2', a: '1' }, Names: ['web', 'db'], N: null, State: { Status: 'running', Pid: 42 }, Num: 3.14159, Ports: [{ P: 80 }] };
  const table: Array<[string, string]> = [
    ['{{$x := .ID}}{{$x}}', 'abc'],
    ['{{$x := 1}}{{$x = 2}}{{$x}}', '2'],
    ['{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', 'a=1;b=2;'],
    ['{{range $i, $n := .Names}}{{$i}}:{{$n}} {{end}}', '0:web 1:db '],
    ['{{range $n := .Names}}{{$n}}{{$.ID}}{{end}}', 'webabcdbabc'],
    ['{{with $s := .State}}{{$s.Pid}} {{.Status}}{{end}}', '42 running'],
    ['{{if $p := .State.Pid}}{{$p}}{{end}}', '42'],
    ['{{printf "%-10s|" .ID}}', 'abc       |'],
    ['{{printf "%10s|" .ID}}', '       abc|'],
    ['{{printf "%.2f" .Num}}', '3.14'],
    ['{{printf "%5.1f|" .Num}}', '  3.1|'],
    ['{{printf "%05d" 42}}', '00042'],
    ['{{printf "%-5d|%x|%X|%o" 7 255 255 8}}', '7    |ff|FF|10'],
    ['{{printf "%q %v %s" .ID .Names .State.Pid}}', '"abc" [web db] 42'],
    ['{{printf "%.1s" .ID}}', 'a'],
    ['{{printf "%T %T %T" .ID .State.Pid .Num}}', 'string int float64'],
    ['{{printf "%d%%" 5}}', '5%'],
    ['{{(index .Ports 0).P}}', '80'],
    ['{{index .Labels "a"}}', '1'],
    ['{{index (split "a,b,c" ",") 1}}', 'b'],
    ['{{json .Names}}', '["web","db"]'],
    ['{{join .Names ", "}}', 'web, db'],
    ['{{lower "ABC"}} {{upper .ID}}', 'abc ABC'],
    ['{{title "hello world"}}', 'Hello World'],
    ['{{split "a,b,c" ","}}', '[a b c]'],
    ['{{print .ID 1 2}}', 'abc1 2'],
    // Missing keys and null values: docker prints, never fails.
    ['{{.Nope}}', '<no value>'],
    ['{{.State.Nope}}', '<no value>'],
    ['{{.Labels.zz}}', '<no value>'],
    ['{{.Nope.Deeper}}', '<no value>'],
    ['{{.N}}', '<nil>'],
    ['{{json .Nope}}', 'null'],
    ['{{range .Nope}}x{{else}}empty{{end}}', 'empty'],
    ['{{if .Nope}}y{{else}}n{{end}}', 'n'],
  ];
  for (const [src, want] of table) assert.equal(run(src, v), want, src);
});

test('template: table directive with variables and printf', () => {
  const rows = [{ Name: 'a', Size: 1.5 }, { Name: 'bbbb', Size: 10 }];
  // docker runs the same template over the headers: printf "%-6s" pads them too.
  assert.equal(formatRows('table {{$n := .Name}}{{printf "%-6s" $n}}|\t{{.Size}}', rows, { headers: { Name: 'NAME', Size: 'SIZE' } }), 'NAME  |   SIZE\na     |   1.5\nbbbb  |   10\n');
});
