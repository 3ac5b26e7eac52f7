; kernel/kernel.asm — the system: one flat binary, loaded by setup at physical address 0
; and entered at 0x08:0 (kernel/head.asm comes first). Every piece is %included here so
; that the whole kernel is one assembly unit with one symbol table (build/kernel.map).

bits 32
org 0

%include "kernel/defs.asm"
%include "kernel/head.asm"
%include "kernel/console.asm"
%include "kernel/main.asm"
%include "kernel/traps.asm"
%include "kernel/system_call.asm"
%include "kernel/sched.asm"
%include "kernel/fork.asm"
%include "kernel/memory.asm"
%include "kernel/exit.asm"
%include "kernel/sys.asm"
%include "kernel/user/ulib.asm"
%include "kernel/user/init.asm"

; ---- kernel data without initial values (kept in the image: it is small) ---------------
        align 4
mem_map:        times PAGING_PAGES db 0

; task 0's user stack: the kernel runs on it until move_to_user_mode, then task 0 does
; (and init, copied on write, inherits it)
        align 4096
user_stack:     times PAGE_SIZE db 0
user_stack_top:
kernel_end:
