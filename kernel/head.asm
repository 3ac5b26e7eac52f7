; kernel/head.asm — the first code of the system, at physical (and linear) address 0.
;
; setup jumps to 0x08:0 in 32-bit protected mode with its temporary GDT. The first page of
; the system becomes the page directory and the next four the page tables that map 16 MB
; identically, so the code here jumps over them first (Linux 0.11 lets the directory
; overwrite its own startup code; we keep it simpler to read).
;
; Then: data segments, our own IDT (every vector → ignore_int) and GDT (256 entries),
; the A20 check, the FPU probe, paging on, and main.

pg_dir:
startup_32:
        jmp startup_32_go
        times 0x1000 - ($ - $$) db 0
pg0:    times 0x1000 db 0
pg1:    times 0x1000 db 0
pg2:    times 0x1000 db 0
pg3:    times 0x1000 db 0

; 0x5000: nothing above this line survives setup_paging
startup_32_go:
        DATA_SEGMENTS KERNEL_DS
        mov ss, ax
        mov esp, user_stack_top
        call setup_idt
        call setup_gdt
        jmp KERNEL_CS:.new_gdt          ; reload cs from the new GDT
.new_gdt:
        DATA_SEGMENTS KERNEL_DS         ; and the data segments
        mov ss, ax
        mov esp, user_stack_top

; A20: a value written at 0 must not appear at 1 MB
        xor eax, eax
        mov ecx, 1000
.a20:   inc eax
        mov [0x000000], eax
        cmp [0x100000], eax
        jne .a20_ok
        loop .a20
        mov byte [a20_failed], 1
.a20_ok:

; FPU: keep PE and ET, set MP; with no FPU fnstsw leaves AX alone, so we see 0xffff
        mov eax, cr0
        and eax, 0x80000011
        or eax, 2
        mov cr0, eax
        call check_x87

        call setup_paging
        jmp main

check_x87:
        mov ax, 0xffff
%ifndef FORCE_NO_FPU                    ; a test build that behaves as if there were no FPU
        fninit
        fnstsw ax
%endif
        cmp al, 0
        je .have_fpu
        mov eax, cr0                    ; no FPU: clear MP, set EM
        xor eax, 6
        mov cr0, eax
        mov byte [have_fpu], 0
        ret
.have_fpu:
        mov byte [have_fpu], 1
        ret

; every IDT entry: an interrupt gate to ignore_int
setup_idt:
        mov edx, ignore_int
        mov eax, KERNEL_CS << 16
        mov ax, dx                      ; eax = selector:offset low
        mov dx, 0x8e00                  ; edx = offset high : P DPL0 32-bit interrupt gate
        mov edi, idt
        mov ecx, 256
.rp:    mov [edi], eax
        mov [edi+4], edx
        add edi, 8
        loop .rp
        lidt [idt_descr]
        ret

setup_gdt:
        lgdt [gdt_descr]
        ret

; page directory at 0, four page tables after it: 16 MB identity-mapped, flags 7
setup_paging:
        mov ecx, 1024*5
        xor eax, eax
        xor edi, edi
        cld
        rep stosd
        mov dword [pg_dir],    pg0 + 7
        mov dword [pg_dir+4],  pg1 + 7
        mov dword [pg_dir+8],  pg2 + 7
        mov dword [pg_dir+12], pg3 + 7
        mov edi, pg3 + 4092
        mov eax, 0xfff007               ; last page of 16 MB, present+rw+user
        std
.fill:  stosd
        sub eax, 0x1000
        jge .fill
        cld
        xor eax, eax
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        ret

; default handler: say so and return
ignore_int:
        push eax
        SAVE_CLOBBERED
        push int_msg
        call printk
        add esp, 4
        RESTORE_CLOBBERED_IRET

int_msg: db "Unknown interrupt", 10, 0
a20_failed: db 0
have_fpu:   db 0

        align 8
idt_descr:
        dw 256*8 - 1
        dd idt
        align 8
gdt_descr:
        dw 256*8 - 1
        dd gdt

        align 8
idt:    times 256*2 dd 0
gdt:    dd 0, 0                         ; null
        dd 0x00000fff, 0x00c09a00       ; 0x08 kernel code, 16 MB (0x00c09a0000000fff)
        dd 0x00000fff, 0x00c09200       ; 0x10 kernel data, 16 MB (0x00c0920000000fff)
        dd 0, 0                         ; 0x18 unused
        times 252*2 dd 0                ; TSS and LDT descriptors of the 64 tasks
