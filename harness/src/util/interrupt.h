// SIGINT/SIGTERM handling. The handler only sets a flag; long waits (the
// process runner, the VM backend) poll it, kill their children and unwind.
#pragma once

namespace kh {

void install_interrupt_handlers();
bool interrupted();
// Throws Interrupted(step) when a signal arrived.
void check_interrupted(const char* step);
// For tests: raise or clear the flag without a signal.
void set_interrupted_for_test(bool value);

}  // namespace kh
