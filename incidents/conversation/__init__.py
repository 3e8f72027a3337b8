"""The case conversation (工单): threads of messages between each reporter and staff, and evidence files."""
