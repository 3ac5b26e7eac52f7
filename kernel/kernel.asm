; kernel/kernel.asm — the system: one flat binary, loaded by setup at physical address 0
; and entered at 0x08:0 (kernel/head.asm comes first). Every piece is %included here so
; that the whole kernel is one assembly unit with one symbol table (build/kernel.map).
;
; Physical layout (addresses in build/kernel.map):
;   0x0000  pg_dir: the page directory (head's first bytes, overwritten by setup_paging)
;   0x1000  pg0..pg3: the page tables mapping 0..16 MB, flags 7
;   0x5000  startup_32_go, then idt and gdt (256 descriptors each), the kernel's code and
;           data, and the system-call table
;   page    init_task: task 0's task_struct, its kernel stack at the end of the page
;   ...     the ring-3 code (ulib, init and the tests), then udata_start..udata_end:
;           the page-aligned user data that init and its children copy on write
;   ...     mem_map (PAGING_PAGES bytes), user_stack (one page; task 0's stack, and the
;           kernel's before move_to_user_mode), kernel_end
; Everything stays below 640 KB, inside task 0's segments.

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
