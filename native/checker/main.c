/* placeholder: berth-checker is being written */
int main(void) { return 0; }
