# Definitions that make jaq's standard library behave as jq 1.8.2's builtins do.
# They are loaded after jaq's own definitions and so replace them. Names starting with `_` are
# helpers. Written for Ocean; behaviour checked against jq 1.8.2 (see tests/jq_compat.rs).

def env: $ENV;
def values: select(. != null);
def nulls: select(. == null);
def booleans: select(type == "boolean");
def numbers: select(type == "number");
def strings: select(type == "string");
def arrays: select(type == "array");
def objects: select(type == "object");
def iterables: select(type | . == "array" or . == "object");
def scalars: select(type | . != "array" and . != "object");
def isfinite: type == "number" and (isinfinite | not);
def isinfinite: type == "number" and (. == infinite or . == -infinite);
def isnormal: type == "number" and ((. == 0 or isnan or isinfinite) | not);
def finites: select(isfinite);
def normals: select(isnormal);
def abs: if . < 0 then - . else . end;
def add: reduce .[] as $x (null; . + $x);
def add(f): reduce f as $x (null; . + $x);
def join($x): reduce .[] as $i (null;
    (if . == null then "" else . + $x end) +
    ($i | if type == "boolean" or type == "number" then tostring else . // "" end)
  ) // "";
def _flatten($x): reduce .[] as $i ([]; if $i | type == "array" and $x != 0 then . + ($i | _flatten($x - 1)) else . + [$i] end);
def flatten($x): if $x < 0 then error("flatten depth must not be negative") else _flatten($x) end;
def flatten: _flatten(-1);
def range($from; $upto; $by):
  if $by > 0 then $from | while(. < $upto; . + $by)
  elif $by < 0 then $from | while(. > $upto; . + $by)
  else empty end;
def limit($n; f): if $n > 0 then _jaq_limit($n; f) elif $n == 0 then empty else error("limit doesn't support negative count") end;
def skip($n; f): if $n > 0 then _jaq_skip($n; f) elif $n == 0 then f else error("skip doesn't support negative count") end;
def nth($n; f): if $n < 0 then error("nth doesn't support negative indices") else _jaq_first(_jaq_skip($n; f)) end;
def reverse: [.[length - 1 - range(0; length)]];
def to_entries: [keys_unsorted[] as $k | {key: $k, value: .[$k]}];
def from_entries: reduce .[] as $x ({}; . + { ($x | if type == "object" then (.key // .Key // .name // .Name) else error("Cannot index \(type) with \"key\"") end | if type == "string" then . else error("Object keys must be strings") end):
    ($x | if has("value") then .value else .Value end) });
def with_entries(f): to_entries | map(f) | from_entries;
def del(f): delpaths([path(f)]);
def pick(pathexps): . as $in | reduce path(pathexps) as $a (null; setpath($a; $in | getpath($a)));
def walk(f): def w: if type == "object" then map_values(w) elif type == "array" then map(w) else . end | f; w;
def transpose: [range(0; map(length) | max // 0) as $i | [.[][$i]]];
def in(xs): . as $x | xs | has($x);
def inside(xs): . as $x | xs | contains($x);
def combinations: if length == 0 then [] else .[0][] as $x | (.[1:] | combinations) as $y | [$x] + $y end;
def combinations(n): . as $dot | [range(n) | $dot] | combinations;
def index($i): indices($i) | .[0];
def rindex($i): indices($i) | .[-1:][0];
def ltrimstr($left): if startswith($left) then .[$left | length:] end;
def rtrimstr($right): if endswith($right) then .[:length - ($right | length)] end;
def trimstr($val): ltrimstr($val) | rtrimstr($val);
def splits($re; flags): split($re; flags) | .[];
def splits($re): splits($re; null);
def match(re; mode): _match_impl(re; mode; false) | .[];
def match($val): ($val | type) as $vt | if $vt == "string" then match($val; null)
   elif $vt == "array" and ($val | length) > 1 then match($val[0]; $val[1])
   elif $vt == "array" and ($val | length) > 0 then match($val[0]; null)
   else error($vt + " not a string or array") end;
def test(re; mode): _match_impl(re; mode; true);
def test($val): ($val | type) as $vt | if $vt == "string" then test($val; null)
   elif $vt == "array" and ($val | length) > 1 then test($val[0]; $val[1])
   elif $vt == "array" and ($val | length) > 0 then test($val[0]; null)
   else error($vt + " not a string or array") end;
def capture(re; mods): match(re; mods) | reduce (.captures | .[] | select(.name != null) | {(.name): .string}) as $pair ({}; . + $pair);
def capture($val): ($val | type) as $vt | if $vt == "string" then capture($val; null)
   elif $vt == "array" and ($val | length) > 1 then capture($val[0]; $val[1])
   elif $vt == "array" and ($val | length) > 0 then capture($val[0]; null)
   else error($vt + " not a string or array") end;
def scan($re; $flags): match($re; "g" + $flags) | if (.captures | length > 0) then [.captures | .[] | .string] else .string end;
def scan($re): scan($re; null);
def split($re; flags): . as $s
  | [match($re; "g" + flags) | (.offset, .offset + .length)] as $ms
  | [0] + $ms + [$s | length]
  | [range(0; length; 2) as $i | $s[.[$i]:.[$i + 1]]];
def sub($re; str; $flags): . as $in
  | (reduce match($re; $flags) as $edit ({result: [], previous: 0};
      $in[.previous: ($edit | .offset)] as $gap
      | [reduce ($edit | .captures | .[] | select(.name != null) | {(.name): .string}) as $pair ({}; . + $pair) | str] as $inserts
      | reduce range(0; $inserts | length) as $ix (.; .result[$ix] += $gap + $inserts[$ix])
      | .previous = ($edit | .offset + .length))
    | .result[] + $in[.previous:])
  // $in;
def sub($re; str): sub($re; str; "");
def gsub($re; str; $flags): sub($re; str; $flags + "g");
def gsub($re; str): sub($re; str; "g");
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def fromdateiso8601: strptime("%Y-%m-%dT%H:%M:%SZ") | mktime;
def todate: todateiso8601;
def fromdate: fromdateiso8601;
def tostream: path(def r: (.[]? | r), .; r) as $p | getpath($p) | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def fromstream(i): {x: null, e: false} as $init
  | foreach i as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | setpath(["x"] + $i[0]; $i[1])
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
def truncate_stream(stream): . as $n | null | stream | . as $input | if (.[0] | length) > $n then setpath([0]; $input[0][$n:]) else empty end;
def paths: path(..) | select(length > 0);
def paths(node_filter): path(.. | select(node_filter)) | select(length > 0);
def INDEX(stream; idx_expr): reduce stream as $row ({}; .[$row | idx_expr | tostring] = $row);
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;
def IN(s): any(s == .; .);
def IN(src; s): any(src == s; .);
def input: _input_error;
def inputs: empty;
def input_filename: null;
def input_line_number: error("Unknown input line number");
def get_search_list: [];
def get_prog_origin: null;
def get_jq_origin: null;
def modulemeta: error("modulemeta input module not found");
def have_decnum: true;
def have_literal_numbers: true;
def halt_error: halt_error(5);
def halt_error($code): error(.);
def halt: error("halt");
def debug(msgs): (msgs | debug | empty), .;
def format($f): _format($f);
def @text: tostring;
def @json: tojson;
def @html: _format("html");
def @uri: _format("uri");
def @csv: _format("csv");
def @tsv: _format("tsv");
def @sh: _format("sh");
def @base64: _format("base64");
def @base64d: _format("base64d");
def @base32: error("base32 is not a valid format");
def @base32d: error("base32d is not a valid format");
def lgamma_r: [lgamma, (if . < 0 and (. - floor) != 0 and ((-. | floor) % 2 == 0) then -1 else 1 end)];
