# A slow git (a fake one first on PATH that sleeps 30 s) never freezes the
# workspace: while pane 1 waits for its worktree, keys typed into pane 2
# echo at once and its commands run; tokmux answers its own keys; the
# waiting pane closes at once; quitting ends the waiting git (its whole
# process group) and leaves no worktree.
. tests/lib.sh
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=tokmux GIT_AUTHOR_EMAIL=t@tokmux.invalid
export GIT_COMMITTER_NAME=tokmux GIT_COMMITTER_EMAIL=t@tokmux.invalid
REPO="$T_TMP/app"
mkdir "$REPO"
(cd "$REPO" && git init -q -b main && echo a >a.txt && git add -A && git commit -qm init) ||
	fail "cannot make the repository"
REAL_GIT=$(command -v git)
mkdir "$T_TMP/slowbin"
printf '#!/bin/sh\nsleep 30\nexec %s "$@"\n' "$REAL_GIT" >"$T_TMP/slowbin/git"
chmod +x "$T_TMP/slowbin/git"
cat >"$XDG_CONFIG_HOME/cfg.json" <<'JSON'
{"panes": [{"name": "slow", "worktree": true}, {"name": "fast"}]}
JSON
cd "$REPO" || fail "no repository"
t_start 160 40 PATH="$T_TMP/slowbin:$PATH" "$TOKMUX" -c "$XDG_CONFIG_HOME/cfg.json" -n 2
t_wait "making a worktree\.\.\."
t_wait " 2 fast"
t_keys C-g 2
t_wait "▶ 2 fast"
start=$(date +%s%N)
t_text 'echo typed-$((6*7))'
t_keys Enter
t_wait "^typed-42|│typed-42" 5
ms=$((($(date +%s%N) - start) / 1000000))
echo "keys echoed and ran in $ms ms while git sleeps"
t_screen | grep -q "new worktree" && fail "the slow git finished early: the test proves nothing"
t_keys C-g 1
t_keys C-g D
t_wait "pane 1: its worktree is being made or removed"
t_keys C-g x
t_wait "pane 1 closed while git made its worktree"
t_wait "▶ 1 fast"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
[ -e "$T_TMP/app.tokmux" ] && fail "a worktree folder was left: $(ls -R "$T_TMP/app.tokmux")"
[ "$(git worktree list | wc -l)" = 1 ] || fail "git lists $(git worktree list)"
sleep 0.5
pgrep -f "$T_TMP/slowbin/git" >/dev/null && fail "the slow git outlived tokmux"
echo ok
