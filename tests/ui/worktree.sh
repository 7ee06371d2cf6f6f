# Worktree panes (issue 17), in a temporary repository: two panes started
# with -w each get their own branch and worktree; each pane's agent (a
# script) makes requests through the gateway, edits its own file and
# commits. Each branch holds only its own change; the sidebar's figures
# equal git diff --stat; every ledger record carries its pane's branch and
# worktree, and the per-branch costs add up to the total (and so does
# `tokmux report --by branch`); Ctrl-g D shows the
# diff in git's colours; closing asks what to keep, and removing
# uncommitted or unmerged work needs a second confirmation.
. tests/lib.sh
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=tokmux GIT_AUTHOR_EMAIL=t@tokmux.invalid
export GIT_COMMITTER_NAME=tokmux GIT_COMMITTER_EMAIL=t@tokmux.invalid
REPO="$T_TMP/app"
WT="$T_TMP/app.tokmux"
mkdir "$REPO"
(cd "$REPO" && git init -q -b main && printf '1\n2\n' >base.txt && git add -A && git commit -qm init) ||
	fail "cannot make the repository"

cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 1000, "output_tokens": 500}, "chunks": 2}}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"

# agent.sh N FILE LINES: N requests, then FILE of LINES lines, committed
cat >"$T_TMP/agent.sh" <<'SH'
for i in $(seq "$1"); do
	curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:k -H content-type:application/json \
	    -d '{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
done
seq "$3" >"$2" && git add "$2" && git commit -qm "$2" && echo "AGENT-DONE-$2"
exec cat
SH
LEDGER="$T_TMP/ledger.jsonl"
cd "$REPO" || fail "no repository"
t_start 200 50 "$TOKMUX" -w --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 \
	-e "'sh $T_TMP/agent.sh 2 one.txt 3'" -e "'sh $T_TMP/agent.sh 3 two.txt 5'"
t_wait "AGENT-DONE-one.txt" 30
t_wait "AGENT-DONE-two.txt" 30
t_wait "\[tokmux/pane-1\]"
t_wait "\[tokmux/pane-2\]"

# each branch has only its own change
[ "$(git diff --name-only main...tokmux/pane-1)" = one.txt ] || fail "tokmux/pane-1 holds $(git diff --name-only main...tokmux/pane-1)"
[ "$(git diff --name-only main...tokmux/pane-2)" = two.txt ] || fail "tokmux/pane-2 holds $(git diff --name-only main...tokmux/pane-2)"
[ "$(git -C "$WT/pane-1" rev-parse --abbrev-ref HEAD)" = tokmux/pane-1 ] || fail "pane 1's worktree is not on its branch"
git status --porcelain | grep -q . && fail "the main checkout was touched"

# the sidebar's figures are git's: "1 file changed, 3 insertions(+)" -> "1 file +3 −0"
for b in pane-1 pane-2; do
	stat=$(git diff --shortstat main...tokmux/$b)
	files=$(echo "$stat" | sed -n 's/^ *\([0-9]*\) file.*/\1/p')
	ins=$(echo "$stat" | sed -n 's/.* \([0-9]*\) insertion.*/\1/p')
	del=$(echo "$stat" | sed -n 's/.* \([0-9]*\) deletion.*/\1/p')
	word=files; [ "$files" = 1 ] && word=file
	t_wait "│  tokmux/$b *\$" 10
	t_wait "│  $files $word \+${ins:-0} −${del:-0} *\$" 10
	[ "$(t_screen | grep -A1 "│  tokmux/$b *\$" | tail -1 | sed 's/.*│  //; s/ *$//')" = "$files $word +${ins:-0} −${del:-0}" ] ||
		fail "the sidebar's figures under tokmux/$b are not git's ($stat)"
done

# every record (intent lines too) carries its pane's branch and worktree;
# per-branch costs add up
n=$(t_outcomes "$LEDGER" | jq -s 'length')
[ "$n" = 5 ] || fail "the ledger has $n records, the agents made 5 requests"
jq -s -e 'all(.[]; (.pane == 1 and .branch == "tokmux/pane-1") or (.pane == 2 and .branch == "tokmux/pane-2"))' \
	"$LEDGER" >/dev/null || fail "a record without its pane's branch: $(cat "$LEDGER")"
jq -s -e --arg wt "$WT" 'all(.[]; .worktree == ($wt + "/pane-" + (.pane | tostring)))' "$LEDGER" >/dev/null ||
	fail "a record without its pane's worktree"
total=$(jq -s 'map(.cost_micros) | add' "$LEDGER")
b1=$(jq -s 'map(select(.branch == "tokmux/pane-1") | .cost_micros) | add' "$LEDGER")
b2=$(jq -s 'map(select(.branch == "tokmux/pane-2") | .cost_micros) | add' "$LEDGER")
[ "$total" -gt 0 ] && [ $((b1 + b2)) = "$total" ] || fail "branch costs $b1 + $b2 are not the total $total"
# tokmux report --by branch says the same
"$TOKMUX" report --by branch --json --ledger "$LEDGER" >"$T_TMP/report.json" || fail "report --by branch failed"
r1=$(jq '.total.branches | map(select(.branch == "tokmux/pane-1") | .cost_micros) | add' "$T_TMP/report.json")
r2=$(jq '.total.branches | map(select(.branch == "tokmux/pane-2") | .cost_micros) | add' "$T_TMP/report.json")
rs=$(jq '.total.branches | map(.cost_micros) | add' "$T_TMP/report.json")
rt=$(jq '.total.cost_micros' "$T_TMP/report.json")
[ "$r1" = "$b1" ] && [ "$r2" = "$b2" ] && [ "$rs" = "$rt" ] && [ "$rt" = "$total" ] ||
	fail "report --by branch: $r1 + $r2 (all branches $rs) of $rt, the ledger says $b1 + $b2 of $total"
"$TOKMUX" report --by branch --ledger "$LEDGER" | grep -q "tokmux/pane-1" || fail "no tokmux/pane-1 row in the report"

# Ctrl-g D: the diff of pane 1 in git's colours, q leaves it
t_keys C-g 1
t_keys C-g D
t_wait "pane 1 \[tokmux/pane-1\]: changes since it branched from main"
t_wait "\+\+\+ b/one.txt"
tmux -L "$T_SOCK" capture-pane -p -e -t t | grep -q $'\033\\[32m+1' || fail "the diff has no git colours"
t_keys q
t_wait_gone "changes since it branched"
t_wait "AGENT-DONE-one.txt"

# a third pane in its own worktree (Ctrl-g C); uncommitted work in it:
# "remove both" is refused until confirmed a second time
t_keys C-g C
t_wait "\[tokmux/pane-3\]"
t_wait "new worktree $WT/pane-3"
echo wip >"$WT/pane-3/wip.txt"
t_keys C-g x
t_wait "Close pane 3 \(pane 3\)\?"
t_keys 3
t_wait "remove its worktree anyway\?"
t_wait "1 uncommitted change"
[ -f "$WT/pane-3/wip.txt" ] || fail "the worktree went before the second confirmation"
t_keys 2
t_wait "pane 3 closed: its worktree was removed with its branch"
[ -e "$WT/pane-3" ] && fail "pane 3's worktree is still there"
git show-ref -q --verify refs/heads/tokmux/pane-3 && fail "branch tokmux/pane-3 is still there"

# Ctrl-g c in a -w workspace asks: Esc nothing, 2 a plain pane. A plain
# pane's requests carry the branch of the directory its shell is in: cd
# into another repository (on branch dev) and they carry dev, no worktree.
mkdir "$T_TMP/other"
(cd "$T_TMP/other" && git init -q -b dev && echo o >o.txt && git add -A && git commit -qm o) ||
	fail "cannot make the second repository"
t_keys C-g c
t_wait "New pane 3 \(pane 3\)"
t_wait "2  a plain pane in $REPO"
t_keys Escape
t_wait_gone "New pane 3"
t_keys C-g c
t_wait "New pane 3 \(pane 3\)"
t_keys 2
t_wait "▶ 3 pane 3"
t_screen | grep -q "\[tokmux/pane-3\]" && fail "the plain pane got a branch"
t_text "cd $T_TMP/other && for i in \$(seq 30); do curl -s \$ANTHROPIC_BASE_URL/v1/messages -H x-api-key:k -H content-type:application/json -d '{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":9}' >/dev/null; grep -q '\"branch\":\"dev\"' $LEDGER && break; sleep 0.3; done; echo REQS-\$((6*7))"
t_keys Enter
t_wait "(^|│)REQS-42" 30
jq -s -e 'map(select(.branch == "dev")) | length > 0 and all(.[]; .worktree == null and .pane == 4)' \
	"$LEDGER" >/dev/null || fail "the plain pane's requests in the other repository do not carry its branch"
t_keys C-g x
t_wait "Close pane 3 \(pane 3\)\? Its program is still running"
t_keys y
t_wait_gone " 3 pane 3"

# pane 2: uncommitted work and an unmerged commit; keep it at the second question
echo wip >"$WT/pane-2/wip.txt"
t_keys C-g 2
t_keys C-g x
t_wait "Close pane 2 \(pane 2\)\?"
t_keys 3
t_wait "remove its worktree anyway\?"
t_wait "commit on no other branch"
t_keys 1
t_wait "pane 2 closed: nothing was removed"
[ -f "$WT/pane-2/wip.txt" ] && git show-ref -q --verify refs/heads/tokmux/pane-2 || fail "pane 2's work was removed"

# pane 1 (all committed): keep the branch, the directory goes; the last pane closes tokmux
t_keys C-g x
t_wait "Close pane 1 \(pane 1\)\?"
t_keys 2
t_wait "TOKMUX-EXIT=0" 15
[ -e "$WT/pane-1" ] && fail "pane 1's worktree directory is still there"
[ "$(git log -1 --format=%s tokmux/pane-1)" = one.txt ] || fail "branch tokmux/pane-1 lost its commit"
[ "$(git worktree list | wc -l)" = 2 ] || fail "git lists $(git worktree list)"
echo ok
