# Sourced by the test scripts: `step NAME` starts a step (ending the one before), `steps_done`
# ends the last and prints every step's time and the total.
_steps_t0=$(date +%s)
_step_name=""
_step_t0=$_steps_t0
_step_times=()

_step_end() {
  [ -n "$_step_name" ] || return 0
  local secs=$(( $(date +%s) - _step_t0 ))
  _step_times+=("$(printf '%5d s  %s' "$secs" "$_step_name")")
  printf '\033[2m    (%s: %d s)\033[0m\n' "$_step_name" "$secs"
}

step() {
  _step_end
  _step_name="$*"
  _step_t0=$(date +%s)
  printf '\n\033[1;34m==> %s\033[0m\n' "$*"
}

steps_done() {
  _step_end
  _step_name=""
  echo
  echo "step times:"
  printf '  %s\n' "${_step_times[@]}"
  printf '  %5d s  total\n' "$(( $(date +%s) - _steps_t0 ))"
}
