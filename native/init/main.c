/* placeholder: berth-init is being written */
int main(void) { return 1; }
