; The benchmark's guest: a boot sector that runs one CPU loop ITER times and then ends the
; emulator. Built by tools/bench-images.ts with forklab's assembler, -D MODE=... -D ITER=...
;   MODE 0: real mode, 16-bit loop (ITER outer rounds of 1000 inner iterations)
;   MODE 1: flat 32-bit protected mode, no paging
;   MODE 2: the same 32-bit loop with paging on (first 4 MB identity-mapped)
; The work is the same in every engine: interrupts off from the first instruction, so no
; timer interrupt adds instructions. The exits, in order: isa-debug-exit (port F4h: forklab,
; QEMU, and v86 through the bench's port handler), then cli/hlt, which Bochs reports.
; Instruction counts per iteration are in tools/bench-images.ts; forklab checks them.

bits 16
org 0x7c00
start:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
%if MODE == 0
        mov dx, ITER
outer:  mov cx, 1000
        mov si, 0x8000
inner:  mov ax, [si]
        add ax, cx
        mov [si+2], ax
        call func16
        inc word [si+4]
        cmp ax, bx
        loop inner
        dec dx
        jnz outer
        jmp done16
func16: add bx, ax
        shl bx, 1
        ret
done16: xor al, al
        out 0xf4, al
        cli
        hlt
        jmp done16
%else
        lgdt [gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x08:pmode
bits 32
pmode:  mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7000
%if MODE == 2
        ; page directory at 0x10000, one table at 0x11000 mapping 0-4 MB onto itself
        mov dword [0x10000], 0x11000 | 7
        mov edi, 0x11000
        mov eax, 7
fill:   mov [edi], eax
        add eax, 0x1000
        add edi, 4
        cmp edi, 0x12000
        jne fill
        mov eax, 0x10000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
%endif
        mov ecx, ITER
        mov esi, 0x8000
loop32: mov eax, [esi]
        add eax, ecx
        mov [esi+4], eax
        xor edx, edx
        call func32
        inc dword [esi+8]
        test ecx, 1
        jz skip
        add edi, 3
skip:   cmp eax, ebx
        dec ecx
        jnz loop32
        jmp done32
func32: push ebp
        mov ebp, esp
        add ebx, eax
        shl ebx, 1
        sub ebx, edx
        pop ebp
        ret
done32: xor al, al
        out 0xf4, al
        cli
        hlt
        jmp done32

align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff   ; flat 32-bit code, ring 0
        dq 0x00cf92000000ffff   ; flat data
gdtr:   dw gdtr - gdt - 1
        dd gdt
%endif

        times 510 - ($ - $$) db 0
        dw 0xaa55
