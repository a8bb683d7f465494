#!/usr/bin/env python3
"""Regenerate jq_compat.json: what jq 1.8.2 (the engine Python Ocean embeds) gives for each
program of PROGRAMS on each input of INPUTS.

Needs the Python `jq` binding that embeds jq 1.8.2: `pip install jq==1.13.0`. The output is
checked in; tests/jq_compat.rs replays it against Ocean's engine. Inputs are handed over as
Python's json module writes them and results converted as the binding does, like Ocean.
"""
import json
import sys
from pathlib import Path

import jq

INPUTS = {
    "obj": {"id": "a-1", "name": "Payments API", "n": 7, "f": 2.5, "whole": 3.0, "neg": -4,
            "zero": 0, "big": 12345678901234567890, "tiny": 2.5e-08, "huge": 1e300,
            "s": "  Hello, World  ", "t": True, "fl": False, "nul": None, "empty": "",
            "tags": ["b", "a", "c", "a"], "nums": [3, 1, 2], "mixed": [None, True, 1, "x", [1], {"a": 1}, False, 0.5],
            "nested": {"a": {"b": [1, {"c": "deep"}]}, "k": "v"},
            "people": [{"name": "ann", "age": 31, "team": "red"}, {"name": "bob", "age": 25, "team": "blue"},
                       {"name": "cy", "age": 40, "team": "red"}],
            "when": "2024-02-29T13:45:10Z", "ms": 1709214310123, "url": "https://x.io/a b?c=d&e=é",
            "csv": "a,b,,c", "uni": "naïve café ✓", "labels": {"env": "prod", "tier": "1"}},
    "arr": [1, "two", None, [3], {"four": 4}],
    "str": "Mixed Case-String_42",
    "num": -12.75,
    "nul": None,
}

PROGRAMS = r"""
.
.name
.nested.a.b[1].c
.nested.a.b[5]
.missing.deeper
.name.first
.tags[0]
.tags[-1]
.tags[1:3]
.tags[:-1]
.tags[2:]
.name[0:3]
.name[-3:]
.nums[1.7]
.tags[]
[.tags[]]
.[]
[.[]?]
.people[] | select(.team == "red") | .name
[.people[] | select(.team == "red") | .name]
[.people[].name]
[.people[] | .age] | add
.people | map(.age) | add / length
.people | sort_by(.age) | map(.name)
.people | sort_by(-.age) | map(.name)
.people | group_by(.team) | map({team: .[0].team, n: length})
.people | min_by(.age) | .name
.people | max_by(.age) | .name
.people | unique_by(.team) | map(.name)
.tags | unique
.tags | sort
.nums | sort
.mixed | sort
.nums | reverse
.tags | length
.name | length
.n | length
.neg | length
.nul | length
.t | length
.labels | length
.uni | length
.uni | utf8bytelength
.labels | keys
.labels | keys_unsorted
.labels | to_entries
.labels | with_entries(.value |= ascii_upcase)
.labels | to_entries | from_entries
[{"key":"a","value":1},{"name":"b","value":2},{"Key":"c","Value":3}] | from_entries
[{"k":"a","v":1}] | from_entries
[{"key":1,"value":2}] | from_entries
[{"key":null,"value":2}] | from_entries
[{"key":false,"value":2}] | from_entries
.labels | has("env")
.labels | has("nope")
.tags | has(1)
.tags | has(9)
.name | test("api"; "i")
.name | test("^Pay")
.name | [match("[A-Z]"; "g") | .offset]
.name | capture("(?<first>\\w+) (?<second>\\w+)")
.name | sub(" "; "_")
.name | gsub(" "; "_")
.name | gsub("(?<c>[A-Z])"; "-\(.c | ascii_downcase)")
.name | [scan("[aeiou]")]
.name | split(" ")
.csv | split(",")
.name | split(" +"; null)
.name | [splits("a")]
.name | ascii_downcase
.name | ascii_upcase
.n | ascii_downcase
.s | trim
.s | ltrim
.s | rtrim
.n | trim
.name | ltrimstr("Pay")
.name | rtrimstr("API")
.name | ltrimstr("x")
.n | ltrimstr("x")
.name | ltrimstr(1)
.name | startswith("Pay")
.name | endswith("API")
.n | startswith("a")
.name | contains("API")
.tags | contains(["a"])
.labels | contains({"env": "prod"})
.n | contains("a")
.name | index("a")
.name | rindex("a")
.name | indices("a")
.tags | index("a")
.tags | indices("a")
.name | explode | implode
.name | @base64
.name | @base64 | @base64d
.url | @uri
.name | @html
.tags | @csv
.tags | @tsv
.tags | @sh
.name | @sh
.mixed | @csv
.name | @json
.labels | @text
.labels | tojson
.labels | tojson | fromjson
"[1,2" | fromjson
.n | tostring
.f | tostring
.whole | tostring
.big | tostring
.tiny | tostring
.huge | tostring
.neg | tostring
.big + 0 | tostring
.whole + 0 | tostring
.whole * 1
[.n, .f, .whole, .big, .tiny, .huge] | tojson
.n + .f
.n - .f
.n * .f
.n / 2
.n % 3
.neg % 3
.f % 2
.n / 0
.n % 0
.nul + 1
.nul - 1
.nul * 2
.name + " " + .id
.name + 1
.tags + ["z"]
.tags - ["a"]
.labels + {"x": 1}
.labels * {"x": {"y": 1}}
{"a":{"b":1,"c":2}} * {"a":{"b":3}}
"ab" * 3
"ab" * 0
"ab" * -1
.name / " "
.n | floor
.f | floor
.f | ceil
.f | round
-2.5 | round
.f | sqrt
.n | pow(.; 2)
pow(2; 10)
.n | log
.f | fabs
.neg | abs
.name | abs
.nul | abs
.f | significand
10 / 4
4 / 2
4 / 2 | tostring
1 / 3
0.1 + 0.2
1e1000
-1e1000
nan
nan | isnan
infinite
-infinite
[nan, 1] | sort
nan < 1
nan == nan
[1, nan] | min
.f | isinfinite
.f | isnormal
0 | isnormal
100000000000000000
100000000000000000 | tostring
1e17 + 0 | tostring
0.00001 + 0 | tostring
1.5e300 * 1e10
9007199254740993
.big == 12345678901234567890
.big == 12345678901234567168
.big > 12345678901234567000
.big == (12345678901234567168 + 0)
-(.big) | tostring
.n == 7.0
.n < .f
.name < .id
[] < {}
null < false
"10" | tonumber
"1.50" | tonumber | tostring
" 1" | tonumber
"abc" | tonumber
"1e2" | tonumber
.n | tonumber
.nul | tonumber
"true" | toboolean
"yes" | toboolean
.n | tostring | tonumber
.t | not
.nul | not
.n | not
.t and .fl
.t or .fl
.nul // "default"
.fl // "default"
.zero // "default"
.empty // "default"
.missing // .nul // "last"
(.name | tonumber) // "x"
.name.x // "d"
.name.x? // "d"
try (.name | tonumber) catch "caught"
try error("boom") catch .
try error({"a":1}) catch .a
try error(null) catch .
error("boom")
error
.name | error
[.tags[] | try error catch .]
.name?
.name.x?
[.[] | numbers]
[.[] | strings]
[.[] | booleans]
[.[] | nulls]
[.[] | arrays]
[.[] | objects]
[.[] | iterables]
[.[] | scalars]
[.[] | values] | length
[.. | numbers]
[.. | .name? // empty]
[paths] | length
[paths(type == "number")] | length
[leaf_paths] | length
getpath(["nested", "a", "b", 1, "c"])
getpath(["nope", "x"])
getpath(["name", "x"])
[getpath(["a"], ["name"])]
setpath(["x", "y"]; 1) | .x
delpaths([["tags"], ["name"]]) | keys
del(.tags, .name) | keys
del(.tags[0, 1]) | .tags
to_entries | length
pick(.name, .nested.k)
.nested | tostream
[.nested | tostream] | length
fromstream(.nested | tostream)
[.nested | truncate_stream(1; tostream)] | length
[limit(2; .tags[])]
[limit(0; .tags[])]
[limit(-1; .tags[])]
first(.tags[])
last(.tags[])
last(empty)
nth(1; .tags[])
nth(-1; .tags[])
[skip(2; .tags[])]
.tags | first
.tags | last
.tags | nth(2)
first(empty)
[range(5)]
[range(2; 5)]
[range(0; 10; 3)]
[range(5; 0; -2)]
[range(0; 3; 0)]
[range(1; 2; 0.5)]
[.nums[] | . * 2]
.nums | map(. + 1)
.labels | map_values(. + "!")
.labels | map(length)
[.nums[] | select(. > 1)]
.nums | any(. > 2)
.nums | all(. > 0)
any(.nums[]; . == 2)
all(.nums[]; . == 2)
.nums | any
[] | all
.nums | add
[] | add
.tags | add
.people | add
add(.nums[])
.nums | add(.[] | . * 2)
.nums | min
.nums | max
[] | min
.nums | [.[] | tostring] | join(",")
.tags | join(", ")
.mixed | join("|")
[1, null, "a", true] | join("-")
[[1]] | join(",")
.nums | flatten
[1, [2, [3, [4]]]] | flatten
[1, [2, [3, [4]]]] | flatten(1)
[1, [2]] | flatten(-1)
{"a": [1]} | flatten
.nums | combinations
[[1, 2], [3, 4]] | [combinations]
[0, 1] | [combinations(2)]
[[1, 2], [3]] | transpose
.nums | indices(1)
.tags | inside(["a", "b", "c", "d"])
"b" | IN("a", "b")
"z" | IN("a", "b")
.tags | IN(["b","a","c","a"])
"floor" | in({"floor": 1})
2 | in([0, 1])
.people | INDEX(.name) | keys
[.nums[] as $x | $x * 10]
. as {name: $n, n: $k} | "\($n)-\($k)"
. as [$a] | $a
.nums as [$a, $b] | $a + $b
reduce .nums[] as $x (0; . + $x)
[foreach .nums[] as $x (0; . + $x)]
[foreach .nums[] as $x (0; . + $x; [$x, .])]
[label $out | foreach .nums[] as $x (0; . + $x; if . > 3 then ., break $out else . end)]
def twice: . * 2; .n | twice
def addn(f): f + .n; addn(10)
def fact: if . <= 1 then 1 else . * (. - 1 | fact) end; .n | fact
if .n > 5 then "big" else "small" end
if .n > 5 then "big" end
if .n > 50 then "big" end
if .nul then 1 elif .t then 2 else 3 end
.parent_key | if . == null then null else ascii_downcase end
.name | if . == null then null else ascii_downcase end
[.tags[] | select(. == "a")] | length
[recurse(.a?; . != null)] | length
[.nested | recurse] | length
[.nested | ..] | length
{a: 1, b: .n, (.id): .name, "q": 2, $__loc__}
{id, name}
{"a": 1} | .a += 1
{"a": 1} | .a |= . * 3
{} | .a.b.c = 1
[1, 2, 3] | .[1:] = ["x"]
[1, 2, 3] | .[5] = 1
null | .[-1] = 1
.tags | .[1] = "z"
.tags | to_entries | map(select(.value == "a") | .key)
.people | map(select(.age > 30)) | length
[.people[] | {(.name): .age}] | add
.people | map({(.team): [.name]}) | add
walk(if type == "number" then . + 1 else . end) | .nums
[walk(if type == "array" then sort else . end) | .tags]
.labels | to_entries | map("\(.key)=\(.value)") | join("&")
"\(.n) items at \(.f)"
"\(.labels)"
"\(.nul)"
"\(.tags[])"
"x\(1, 2)y"
@base64 "id:\(.id)"
@json "v=\(.name)"
@uri "https://x/\(.name)"
$__loc__
$__loc__.line
env | type
$ENV | type
input
[inputs]
input_filename
builtins | length
"x" | format("base64")
"x" | format("nope")
have_decnum
have_literal_numbers
ltrimstr
toarray
leaf_paths
isstring
isboolean
tobytes
pow10
splits
ascii
getpath(["a"]; 1)
.name | frobnicate
.name | ascii_downcase("x")
.a | | .b
(.name | ascii_upcase
[1, 2
"unterminated
.name | test("(")
.name | test("a"; "q")
.when | fromdate
.when | fromdate | todate
.when | strptime("%Y-%m-%dT%H:%M:%SZ")
.when | strptime("%Y-%m-%dT%H:%M:%SZ") | mktime
"2023-02-30T00:00:00Z" | fromdate | todate
"2024-01-01T10:00:00+02:00" | fromdate
"2024-01-01T10:00:00.123Z" | fromdate
.ms / 1000 | floor | todate
.ms / 1000 | todate
.ms / 1000 | gmtime
.ms / 1000 | gmtime | mktime
1425599621 | strftime("%A, %B %d, %Y %H:%M:%S %j %Z")
"10 Mar 2021" | strptime("%d %b %Y") | mktime
now | type
.when | dateadd("seconds"; 10)
.when | date
1700000000 | todate
1700000000.9 | todate
"1700000000" | todate
[1, 2] | tojson
{"a": [1, "x", null, true, {"b": 1.5}]} | tojson
"é\u0000\u007f\n" | tojson
.uni | explode
[65, 233, 10003] | implode
.uni | @base64d
"YWJj" | @base64d
"YWJ" | @base64d
"!!" | @base64d
.uni | ascii_downcase
.uni | test("\\w+")
"١٢" | test("^\\d+$")
.name | splits(", *"; null)
.tags | .[1:] | length
.tags[1:][0]
.tags | bsearch("a")
[1, 2, 3] | bsearch(2)
[1, 2, 3] | bsearch(0)
[1, 2, 3] | bsearch(4)
.labels | tojson | length
.n | tojson
.nul | tojson
.t | tostring
.labels | tostring
.tags | tostring
.nul | tostring
.nul | first
.nul | reverse
.nul | keys
.nul | has("a")
.nul | index("a")
.nul | .[0]
.nul | .["a"]
.nul | .[1:2]
.nul | length
.name | .[0]
.name | .[0:1]
.n | .[0]
.n | keys
.tags | keys
.t | not | not
[.[] | type]
.mixed | map(type)
.mixed | map(length? // "none")
.labels | [.[]] | sort
[.people[] | .age] | sort | .[length / 2 | floor]
.people | length as $n | map(.age) | add / $n
.people | map(.age) | (add / length * 100 | floor) / 100
(.n / 3 * 100 | floor)
.n / 3 * 100
.n * 10 + (.f | floor)
.nested.a.b | length
.nested.a.b[1] | keys
.nested | paths | join(".")?
[.nested | paths | map(tostring) | join(".")]
[.nested | leaf_paths]
.id | ascii_downcase | gsub("[^a-z0-9]"; "-")
.name | gsub("\\s+"; "")
.name | [match("(a)(x)?"; "g") | .captures | map(.string)]
.name | sub("(?<x>API)$"; "[\(.x)]")
.name | gsub("a"; "A"; "i")
.name | gsub(""; "-")
"aaa" | [match(""; "g") | .offset]
"aXbxc" | [splits("x"; "i")]
"a1b22c333" | [scan("\\d+")]
"a1b22c333" | [scan("(\\w)(\\d)")]
"foo bar" | capture("(?<a>\\w+)(?<none>z)?")
"test" | test("T")
"test" | test("T"; "i")
"line1\nline2" | test("^line2")
"line1\nline2" | [match("line."; "g") | .string]
"abc" | test("b"; "x")
"abc" | sub("b"; "1", "2")
"abc" | [sub("b"; "1", "2")]
"abcabc" | sub("b"; "X"; "g")
"abc" | ltrimstr("")
"abc" | rtrimstr("")
"aba" | trimstr("a")
.tags | .[1:3] | length
"abc" | .[1:]
"aé✓b" | .[1:3]
[.tags[] | ascii_upcase]
.people | map(.name) | join(",") | ascii_upcase
.name | ascii_downcase | split(" ") | join("-")
.id | split("-") | last
.id | split("-") | first
.id | split("-") | .[0]
(.tags | length) >= 2
.tags | map(select(startswith("a"))) | length
.n as $x | .nums | map(. + $x)
[.nums[] | if . > 1 then "hi" else "lo" end]
.people | any(.age > 35)
.people | all(.age > 20)
.labels.env == "prod" and .labels.tier == "1"
(.labels.tier | tonumber) > 0
.archived | not
(.archived // false) | not
.tags | index("c")
.name | @text "X\(.)"
[.[] | tostring]
.f * 2 | tostring
0.1 | tostring
1.0 | tostring
1.10 | tostring
1e2 | tostring
-0 | tostring
0 * -1 | tostring
[.f, .whole] | map(. * 2)
.huge
-.huge
.tiny
.big
.whole
[.whole]
{"v": .whole}
.f * 4
.n / 7
3 | . / 3
1e15 + 0.5
123456789.123456789
-1.5e-7
""" .strip("\n").split("\n")


def run(program, value):
    try:
        compiled = jq.compile(program)
    except Exception as e:
        return {"compile_error": str(e).splitlines()[0]}
    try:
        it = iter(compiled.input_text(json.dumps(value)))
        try:
            return {"value": json.dumps(next(it))}
        except StopIteration:
            return {"empty": True}
    except Exception as e:
        return {"error": str(e).splitlines()[0]}


def main():
    cases = []
    for program in PROGRAMS:
        if not program.strip():
            continue
        for name, value in INPUTS.items():
            if name != "obj" and not program.startswith("."):
                continue
            result = run(program, value)
            cases.append({"program": program, "input": name, **result})
    out = {"generator": "gen_jq_compat.py (jq 1.8.2 via the Python jq 1.13.0 binding)",
           "inputs": {k: json.dumps(v) for k, v in INPUTS.items()}, "cases": cases}
    path = Path(__file__).with_name("jq_compat.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
