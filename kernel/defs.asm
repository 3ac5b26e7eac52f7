; forklab kernel — constants and data layouts (see ../shared/spec/linux011-process.md).
; Assembled as one flat unit (kernel/kernel.asm %includes every piece); this file only
; defines names, it emits no bytes.

; ---- memory ------------------------------------------------------------------------
PAGE_SIZE       equ 4096
LOW_MEM         equ 0x100000            ; below: kernel pages, never reference-counted
PAGING_MEMORY   equ 15*1024*1024
PAGING_PAGES    equ PAGING_MEMORY >> 12 ; 3840 entries of mem_map
USED            equ 100                 ; mem_map value the allocator never hands out
TASK_SIZE       equ 0x4000000           ; 64 MB of linear space per task slot
MAX_MEMORY      equ 16*1024*1024        ; we map 16 MB identically
INITSEG_PARAMS  equ 0x90000             ; parameters saved by setup
EXT_MEM_K       equ 0x90002             ; word: extended memory in KB (INT 15h AH=88h)
ORIG_CURSOR     equ 0x90000             ; byte col, byte row
ORIG_VIDEO_MODE equ 0x90006             ; byte

; ---- selectors -----------------------------------------------------------------------
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10
USER_CS         equ 0x0f                ; LDT entry 1, RPL 3
USER_DS         equ 0x17                ; LDT entry 2, RPL 3
FIRST_TSS_ENTRY equ 4
FIRST_LDT_ENTRY equ 5
; Linux's _TSS(n) = (n << 4) + (FIRST_TSS_ENTRY << 3), _LDT(n) = (n << 4) + (FIRST_LDT_ENTRY << 3)
TSS0_SEL        equ FIRST_TSS_ENTRY << 3        ; _TSS(0) = 0x20
LDT0_SEL        equ FIRST_LDT_ENTRY << 3        ; _LDT(0) = 0x28

; ---- tasks ---------------------------------------------------------------------------
NR_TASKS        equ 64
HZ              equ 100
LATCH           equ 1193180 / HZ        ; 11931

TASK_RUNNING         equ 0
TASK_INTERRUPTIBLE   equ 1
TASK_UNINTERRUPTIBLE equ 2
TASK_ZOMBIE          equ 3
TASK_STOPPED         equ 4

; task_struct field offsets (one page per task; kernel stack grows down from its end)
T_STATE         equ 0
T_COUNTER       equ 4
T_PRIORITY      equ 8
T_SIGNAL        equ 12
T_SIGACTION     equ 16                  ; 32 entries x 16 bytes (sa_handler first)
T_BLOCKED       equ 528
T_EXIT_CODE     equ 532
T_START_CODE    equ 536
T_END_CODE      equ 540
T_END_DATA      equ 544
T_BRK           equ 548
T_START_STACK   equ 552
T_PID           equ 556
T_FATHER        equ 560
T_PGRP          equ 564
T_SESSION       equ 568
T_LEADER        equ 572
T_UID           equ 576                 ; words: uid euid suid gid egid sgid
T_EUID          equ 578
T_SUID          equ 580
T_GID           equ 582
T_EGID          equ 584
T_SGID          equ 586
T_ALARM         equ 588
T_UTIME         equ 592
T_STIME         equ 596
T_CUTIME        equ 600
T_CSTIME        equ 604
T_START_TIME    equ 608
T_USED_MATH     equ 612                 ; word
T_TTY           equ 614                 ; word
T_UMASK         equ 616                 ; word
T_PWD           equ 620
T_ROOT          equ 624
T_EXECUTABLE    equ 628
T_CLOSE_ON_EXEC equ 632
NR_OPEN         equ 20
T_FILP          equ 636                 ; NR_OPEN pointers
T_LDT           equ 716                 ; 3 descriptors
T_TSS           equ 740                 ; struct tss_struct (below)
; forklab additions after the Linux fields: per-task copy-on-write counters
T_COW_FAULTS    equ 952
T_COW_COPIES    equ 956
T_COW_NOCOPY    equ 960
TASK_STRUCT_SIZE equ 964

; struct tss_struct, offsets inside the TSS
TSS_BACK_LINK   equ 0
TSS_ESP0        equ 4
TSS_SS0         equ 8
TSS_ESP1        equ 12
TSS_SS1         equ 16
TSS_ESP2        equ 20
TSS_SS2         equ 24
TSS_CR3         equ 28
TSS_EIP         equ 32
TSS_EFLAGS      equ 36
TSS_EAX         equ 40
TSS_ECX         equ 44
TSS_EDX         equ 48
TSS_EBX         equ 52
TSS_ESP         equ 56
TSS_EBP         equ 60
TSS_ESI         equ 64
TSS_EDI         equ 68
TSS_ES          equ 72
TSS_CS          equ 76
TSS_SS          equ 80
TSS_DS          equ 84
TSS_FS          equ 88
TSS_GS          equ 92
TSS_LDT         equ 96
TSS_TRACE_BITMAP equ 100                ; trace bit (low word), I/O map base (high word)
TSS_I387        equ 104                 ; 108 bytes of fnsave area

; ---- signals and errors ----------------------------------------------------------------
SIGFPE          equ 8
SIGKILL         equ 9
SIGSEGV         equ 11
SIGALRM         equ 14
SIGTERM         equ 15
SIGCHLD         equ 17

EPERM           equ 1
ESRCH           equ 3
EINTR           equ 4
EBADF           equ 9
ECHILD          equ 10
EAGAIN          equ 11
ENOMEM          equ 12
EFAULT          equ 14
EINVAL          equ 22
ENOSYS          equ 38

WNOHANG         equ 1
WUNTRACED       equ 2

; ---- system-call numbers (Linux 0.11's) -------------------------------------------------
__NR_setup      equ 0
__NR_exit       equ 1
__NR_fork       equ 2
__NR_read       equ 3
__NR_write      equ 4
__NR_waitpid    equ 7
__NR_time       equ 13
__NR_getpid     equ 20
__NR_alarm      equ 27
__NR_pause      equ 29
__NR_kill       equ 37
__NR_brk        equ 45
__NR_getppid    equ 64
; forklab's own debugging calls (not Linux numbers; described in kernel/sys.asm)
__NR_forklab_stat     equ 200           ; ebx = which counter -> eax
__NR_forklab_poweroff equ 201           ; ebx = number of failed checks; prints statistics
NR_SYSCALLS     equ 202

; forklab_stat selectors
STAT_WP_FAULTS      equ 0               ; write-protect faults (do_wp_page calls), all tasks
STAT_COPIES         equ 1               ; pages copied by un_wp_page
STAT_NOCOPY         equ 2               ; pages made writable without a copy
STAT_SHARED         equ 3               ; page-table entries shared by copy_page_tables
STAT_FREE_PAGES     equ 4               ; free pages in mem_map now
STAT_MARK           equ 5               ; remember the free-page count ("before"); returns it
STAT_NO_PAGE        equ 6               ; do_no_page calls
STAT_MY_FAULTS      equ 16              ; the same three, counted for the calling task only
STAT_MY_COPIES      equ 17
STAT_MY_NOCOPY      equ 18
STAT_NR_TASKS       equ 19              ; tasks in task[] now
STAT_HAVE_FPU       equ 20              ; 1 when head found a coprocessor, 0 when CR0.EM is set

; ---- segment registers and interrupt frames --------------------------------------------
; DATA_SEGMENTS selector: ds, es, fs and gs = selector (through eax)
%macro DATA_SEGMENTS 1
        mov eax, %1
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
%endmacro

; SAVE_CLOBBERED: after the eax slot, push what a called routine may change (ecx, edx) and
; the data segment registers, then ds = es = fs = the kernel's data (ignore_int, page_fault)
%macro SAVE_CLOBBERED 0
        push ecx
        push edx
        push ds
        push es
        push fs
        mov edx, KERNEL_DS
        mov ds, dx
        mov es, dx
        mov fs, dx
%endmacro

; RESTORE_CLOBBERED_IRET: undo SAVE_CLOBBERED and the eax slot, and return from the interrupt
%macro RESTORE_CLOBBERED_IRET 0
        pop fs
        pop es
        pop ds
        pop edx
        pop ecx
        pop eax
        iret
%endmacro

; ---- number formatting, for the kernel's print routines (console.asm) and user mode's
; (user/ulib.asm): the same steps, each expanded with its own character routine, since
; ring-3 code cannot call the kernel's ----------------------------------------------------
; PUT_MINUS putc: for a negative eax, a '-' through putc (al), and eax becomes -eax
%macro PUT_MINUS 1
        test eax, eax
        jns %%pos
        push eax
        mov al, '-'
        call %1
        pop eax
        neg eax
%%pos:
%endmacro

; PUT_DEC putc: eax as an unsigned decimal number through putc (al). Changes eax-edx.
%macro PUT_DEC 1
        mov ecx, 10
        xor ebx, ebx                    ; digits pushed
%%div:  xor edx, edx
        div ecx
        push edx
        inc ebx
        test eax, eax
        jnz %%div
%%out:  pop eax
        add al, '0'
        call %1
        dec ebx
        jnz %%out
%endmacro

; PUT_HEX putc, digits: the top ecx hex digits of edx through putc (al), digits being the
; table "0123456789abcdef". Changes eax, ecx, edx.
%macro PUT_HEX 2
%%lp:   rol edx, 4
        mov eax, edx
        and eax, 0x0f
        mov al, [%2 + eax]
        call %1
        loop %%lp
%endmacro

; ---- kernel print macros (the routines are in console.asm) ------------------------------
; PRINT "text": print a literal from kernel code
%macro PRINT 1
        jmp %%over
%%str:  db %1, 0
%%over: push esi
        mov esi, %%str
        call print_str
        pop esi
%endmacro

; PRINTLN "text": the same, then a newline
%macro PRINTLN 1
        PRINT %1
        push eax
        mov al, 10
        call con_putc
        pop eax
%endmacro

; NEWLINE: end the line (al is lost)
%macro NEWLINE 0
        mov al, 10
        call con_putc
%endmacro

; PANIC "why": never returns
%macro PANIC 1
        push %%msg
        call panic
%%msg:  db %1, 0
%endmacro
