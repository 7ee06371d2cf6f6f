# vttest (menus 1, 2 and 8) in a pane: every screen that says how it must
# look is compared with tests/ui/vttest/*.txt, which were checked against
# vttest's own words (an unbroken border, letters in order, ten characters
# of each flavour, A's on top and X's at the bottom...); the graphic
# rendition screens with their attributes (capture-pane -e). Screens drawn
# for 132 columns, which tokmux refuses as xterm does without allowC132,
# are passed over. After a deliberate change, regenerate and review:
#   UPDATE_GOLDEN=1 bash tests/ui/vttest.sh && git diff tests/ui/vttest
. tests/lib.sh
command -v vttest >/dev/null || { echo "SKIP: no vttest (scripts/deps.sh installs it)"; exit 77; }
GOLD=tests/ui/vttest
# the pane is 80x24 once the sidebar is hidden; vttest starts on Enter
t_start 80 26 "$TOKMUX" -n 1 --no-gateway -e "'read x; exec vttest'"
t_wait "pane 1"
t_keys C-g s
t_wait "Ctrl-g \? help"
t_keys Enter
t_wait "Enter choice number"

# The pane's 24 rows, 80 columns each, trailing blanks trimmed; with "e",
# attributes as SGR (the pane fills every row, so nothing else is there).
screen() {
	local l
	tmux -L "$T_SOCK" capture-pane -p ${1:+-e} -t t | sed -n '2,25p' |
		while IFS= read -r l; do
			[ -z "${1:-}" ] && l=${l:0:80}
			printf '%s\n' "${l%"${l##*[! ]}"}"
		done
}

# check NAME [e]: wait until the screen is the golden NAME, then Enter.
check() {
	local i
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		t_wait "Push <RETURN>|Enter choice"
		sleep 1
		screen "${2:-}" >"$GOLD/$1.txt"
	else
		[ -f "$GOLD/$1.txt" ] || fail "no golden $GOLD/$1.txt"
		for ((i = 0; i < 100; i++)); do
			screen "${2:-}" | cmp -s - "$GOLD/$1.txt" && break
			sleep 0.1
		done
		[ "$i" -lt 100 ] || { screen "${2:-}" | diff "$GOLD/$1.txt" - | head -20; fail "vttest screen $1 differs"; }
	fi
	prev=$(screen)
	t_keys Enter
}

# skip: a screen drawn for 132 columns: wait for it to come, then Enter.
skip() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(screen)" != "$prev" ] && screen | grep -q "Push <RETURN>" && break
		sleep 0.1
	done
	prev=$(screen)
	t_keys Enter
}

prev=
t_keys 1 Enter
check m1-border; skip; check m1-autowrap; check m1-autowrap-132
check m1-controls-in-esc; check m1-leading-zeros
t_wait "Enter choice number"
t_keys 2 Enter
check m2-wrap-around; check m2-tabs; skip; check m2-80-light; skip; check m2-80-dark
check m2-soft-scroll-region; check m2-soft-scroll; check m2-jump-scroll-region
check m2-jump-scroll; check m2-origin-bottom; check m2-origin-top
check m2-rendition-dark e; check m2-rendition-light e; check m2-save-restore e
t_wait "Enter choice number"
t_keys 8 Enter
check m8-accordion; check m8-top-bottom; check m8-insert-mode; check m8-delete-char
check m8-stagger-1; check m8-stagger-2; check m8-insert-char
skip; skip; skip; skip; skip; skip; skip
t_wait "Enter choice number"
echo ok
