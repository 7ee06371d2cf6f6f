# Worktree panes that cannot be made say why in the pane, and never leave
# half a worktree behind: not a git repository, a detached HEAD, a branch
# tokmux/<pane> that already exists (not made by tokmux), a worktree
# directory that already exists, git missing, a repository with
# submodules. The pane's program does not start; r tries again (after the
# cause is gone, the worktree is made), x closes the pane.
. tests/lib.sh
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=tokmux GIT_AUTHOR_EMAIL=t@tokmux.invalid
export GIT_COMMITTER_NAME=tokmux GIT_COMMITTER_EMAIL=t@tokmux.invalid

# repo NAME: a repository with one commit on main
repo() {
	mkdir "$T_TMP/$1" && (cd "$T_TMP/$1" && git init -q -b main && echo a >a.txt && git add -A &&
		git commit -qm init) || fail "cannot make $1"
}

# start DIR [ENV...]: tokmux -w with one pane in DIR, a tmux server per case
start() {
	local dir=$1
	shift
	tmux -L "$T_SOCK" kill-server 2>/dev/null
	T_SOCK="tokmux-test-$$-$RANDOM"
	tmux -L "$T_SOCK" -f /dev/null new-session -d -s t -x 200 -y 40 -c "$dir" \
		"env TERM=xterm-256color $* $TOKMUX --no-gateway -w -n 1 -e 'echo RAN-\$((6*7)); exec cat'; echo TOKMUX-EXIT=\$?; sleep 60"
	tmux -L "$T_SOCK" set -g status off
}

# refused PATTERN: the pane says why, its program did not run; x closes it
refused() {
	t_wait "no worktree for this pane: .*$1" 15
	t_wait "Press r to try again, x to close the pane"
	t_screen | grep -q RAN-42 && fail "the program ran without its worktree"
}

closed() {
	t_keys x
	t_wait "TOKMUX-EXIT=0"
}

# untouched REPO BRANCHES: only these tokmux/ branches, one worktree, no <repo>.tokmux
untouched() {
	local got
	got=$(git -C "$1" for-each-ref --format='%(refname:short)' refs/heads/tokmux/ | tr '\n' ' ')
	[ "$got" = "$2" ] || fail "$1 has the tokmux branches '$got', expected '$2'"
	[ "$(git -C "$1" worktree list | wc -l)" = 1 ] || fail "$1 has worktrees: $(git -C "$1" worktree list)"
}

# not a repository
mkdir "$T_TMP/plain"
start "$T_TMP/plain"
refused "$T_TMP/plain is not in a git repository"
closed
[ -e "$T_TMP/plain.tokmux" ] && fail "a worktree folder was made for a plain directory"

# a detached HEAD
repo detached
git -C "$T_TMP/detached" checkout -q --detach
start "$T_TMP/detached"
refused "HEAD is detached in $T_TMP/detached: check out a branch first"
closed
untouched "$T_TMP/detached" ""
[ -e "$T_TMP/detached.tokmux" ] && fail "detached.tokmux was made"

# submodules
repo sub
(cd "$T_TMP/sub" && printf '[submodule "m"]\n\tpath = m\n\turl = ./m\n' >.gitmodules && git add .gitmodules &&
	git commit -qm sub)
start "$T_TMP/sub"
refused "has submodules \(.gitmodules\): tokmux does not make worktrees"
closed
untouched "$T_TMP/sub" ""

# the branch exists (made by hand): refused; deleted, r makes the worktree
repo taken
git -C "$T_TMP/taken" branch tokmux/pane-1
start "$T_TMP/taken"
refused "branch tokmux/pane-1 already exists"
untouched "$T_TMP/taken" "tokmux/pane-1 "
git -C "$T_TMP/taken" branch -D -q tokmux/pane-1
t_keys r
t_wait "new worktree $T_TMP/taken.tokmux/pane-1 on branch tokmux/pane-1"
t_wait RAN-42
t_wait "\[tokmux/pane-1\]"
t_keys C-g x
t_wait "Close pane 1"
t_keys 3
t_wait "TOKMUX-EXIT=0"
untouched "$T_TMP/taken" ""

# the worktree's directory exists: refused, and what is in it stays
repo there
mkdir -p "$T_TMP/there.tokmux/pane-1"
echo mine >"$T_TMP/there.tokmux/pane-1/mine.txt"
start "$T_TMP/there"
refused "there.tokmux/pane-1 already exists: tokmux does not"
closed
untouched "$T_TMP/there" ""
[ "$(cat "$T_TMP/there.tokmux/pane-1/mine.txt")" = mine ] || fail "the existing directory was touched"

# git missing: a PATH with the shell's tools but no git
repo nogit
mkdir "$T_TMP/bin"
for t in sh cat env sleep; do ln -s "$(command -v $t)" "$T_TMP/bin/$t"; done
start "$T_TMP/nogit" PATH="$T_TMP/bin"
refused "git not found"
closed
untouched "$T_TMP/nogit" ""
[ -e "$T_TMP/nogit.tokmux" ] && fail "nogit.tokmux was made"
echo ok
