; kernel/memory.asm — pages, page tables, copy-on-write and the page fault
; (Linux 0.11's mm/memory.c and mm/page.s).
;
; mem_map[MAP_NR(addr)] counts the users of each page from LOW_MEM (1 MB) up;
; USED marks pages the allocator must never hand out (beyond the end of memory, or
; reserved). Pages below LOW_MEM belong to the kernel and are never counted.

%macro INVALIDATE 0                     ; flush the TLB: reload CR3 (the directory at 0)
        xor eax, eax
        mov cr3, eax
%endmacro

; mem_init(start_mem, end_mem): every page USED, then [start_mem, end_mem) free
mem_init:
        push edi
        mov eax, [esp + 12]
        mov [HIGH_MEMORY], eax
        mov edi, mem_map
        mov ecx, PAGING_PAGES
        mov al, USED
        cld
        rep stosb
        mov eax, [esp + 8]              ; start_mem
        sub eax, LOW_MEM
        shr eax, 12
        lea edi, [mem_map + eax]
        mov ecx, [esp + 12]             ; end_mem
        sub ecx, [esp + 8]
        shr ecx, 12
        xor eax, eax
        rep stosb
        pop edi
        ret

; nr_free_pages(): eax = number of mem_map entries that are 0
nr_free_pages:
        xor eax, eax
        xor ecx, ecx
.lp:    cmp byte [mem_map + ecx], 0
        jne .next
        inc eax
.next:  inc ecx
        cmp ecx, PAGING_PAGES
        jb .lp
        ret

; get_free_page(): the highest free page, zeroed, count 1; 0 when none is left
get_free_page:
        push edi
        mov ecx, PAGING_PAGES
.lp:    dec ecx
        js .none
        cmp byte [mem_map + ecx], 0
        jne .lp
        mov byte [mem_map + ecx], 1
        mov eax, ecx
        shl eax, 12
        add eax, LOW_MEM
        push eax
        mov edi, eax
        mov ecx, 1024
        xor eax, eax
        cld
        rep stosd
        pop eax
        pop edi
        ret
.none:  xor eax, eax
        pop edi
        ret

; free_page(addr): one user fewer
free_page:
        mov eax, [esp + 4]
        cmp eax, LOW_MEM
        jb .out
        cmp eax, [HIGH_MEMORY]
        jae .nonexistent
        sub eax, LOW_MEM
        shr eax, 12
        cmp byte [mem_map + eax], 0
        je .free
        dec byte [mem_map + eax]
.out:   ret
.nonexistent:
        PANIC "trying to free nonexistent page"
.free:  PANIC "trying to free free page"

; free_page_tables(from, size): free every page of the 4 MB blocks covering
; [from, from+size), their page tables, and clear the directory entries
free_page_tables:
        push ebx
        push esi
        push edi
        mov eax, [esp + 16]             ; from
        test eax, 0x3fffff
        jnz .align
        test eax, eax
        jz .swapper
        mov edi, [esp + 20]             ; size -> number of directory entries
        add edi, 0x3fffff
        shr edi, 22
        mov ebx, eax                    ; ebx -> directory entry
        shr ebx, 20
        and ebx, 0xffc
.dir:   test edi, edi
        jz .done
        dec edi
        mov eax, [ebx]
        test eax, 1
        jz .next_dir
        and eax, 0xfffff000
        mov esi, eax                    ; the page table
        mov ecx, 1024
.pte:   mov eax, [esi]
        test eax, 1
        jz .next_pte
        and eax, 0xfffff000
        push ecx
        push eax
        call free_page
        add esp, 4
        pop ecx
.next_pte:
        mov dword [esi], 0
        add esi, 4
        loop .pte
        mov eax, [ebx]
        and eax, 0xfffff000
        push eax
        call free_page
        add esp, 4
        mov dword [ebx], 0
.next_dir:
        add ebx, 4
        jmp .dir
.done:  INVALIDATE
        xor eax, eax
        pop edi
        pop esi
        pop ebx
        ret
.align: PANIC "free_page_tables called with wrong alignment"
.swapper:
        PANIC "Trying to free up swapper memory space"

; copy_page_tables(from, to, size): the child gets its own page tables pointing at the
; parent's pages, read-only in both; each shared page above LOW_MEM gains a user.
; Returns 0, or -1 when no page is left for a page table.
copy_page_tables:
        push ebp
        mov ebp, esp
        push ebx
        push esi
        push edi
        sub esp, 8                      ; [ebp-16] dir count, [ebp-20] entries per table
        mov eax, [ebp + 8]              ; from
        or eax, [ebp + 12]              ; to
        test eax, 0x3fffff
        jnz .align
        mov eax, [ebp + 16]
        add eax, 0x3fffff
        shr eax, 22
        mov [ebp - 16], eax
        mov ebx, [ebp + 8]              ; ebx -> source directory entry
        shr ebx, 20
        and ebx, 0xffc
        mov edx, [ebp + 12]             ; edx -> destination directory entry
        shr edx, 20
        and edx, 0xffc
.dir:   cmp dword [ebp - 16], 0
        je .done
        dec dword [ebp - 16]
        test dword [edx], 1
        jnz .exists
        mov esi, [ebx]
        test esi, 1
        jz .next_dir
        and esi, 0xfffff000             ; source page table
        push edx
        call get_free_page
        pop edx
        test eax, eax
        jz .nomem
        mov edi, eax                    ; destination page table
        or eax, 7
        mov [edx], eax
        mov ecx, 1024
        cmp dword [ebp + 8], 0
        jne .count
        mov ecx, 0xa0                   ; from task 0: only its 640 KB
.count: mov eax, [esi]
        test eax, 1
        jz .next_pte
        and eax, ~2                     ; read-only
        mov [edi], eax
        cmp eax, LOW_MEM
        jbe .next_pte                   ; kernel pages: shared, uncounted, parent keeps rw
        mov [esi], eax                  ; the parent loses write access too
        push eax
        sub eax, LOW_MEM
        shr eax, 12
        inc byte [mem_map + eax]
        pop eax
        inc dword [cow_shared]
.next_pte:
        add esi, 4
        add edi, 4
        loop .count
.next_dir:
        add ebx, 4
        add edx, 4
        jmp .dir
.done:  INVALIDATE
        xor eax, eax
        jmp .out
.nomem: mov eax, -1
.out:   add esp, 8
        pop edi
        pop esi
        pop ebx
        pop ebp
        ret
.align: PANIC "copy_page_tables called with wrong alignment"
.exists:
        PANIC "copy_page_tables: already exist"

; put_page(page, address): map a fresh page at a linear address (creating its page table)
; returns the page, or 0 when no page table could be had
put_page:
        push ebx
        mov ebx, [esp + 8]              ; page
        cmp ebx, LOW_MEM
        jb .warn
        cmp ebx, [HIGH_MEMORY]
        jae .warn
.checked:
        mov eax, ebx
        sub eax, LOW_MEM
        shr eax, 12
        cmp byte [mem_map + eax], 1
        je .counted
        PRINTLN "mem_map disagrees with page at put_page"
.counted:
        mov edx, [esp + 12]             ; address
        shr edx, 20
        and edx, 0xffc                  ; -> directory entry
        mov eax, [edx]
        test eax, 1
        jz .new_table
        and eax, 0xfffff000
        jmp .have_table
.new_table:
        push edx
        call get_free_page
        pop edx
        test eax, eax
        jz .fail
        mov ecx, eax
        or ecx, 7
        mov [edx], ecx
.have_table:
        mov edx, [esp + 12]
        shr edx, 12
        and edx, 0x3ff
        mov ecx, ebx
        or ecx, 7
        mov [eax + edx*4], ecx
        mov eax, ebx                    ; no INVALIDATE needed: the entry was not present
        pop ebx
        ret
.warn:  PRINTLN "Trying to put page outside of the managed memory"
        jmp .checked
.fail:  xor eax, eax
        pop ebx
        ret

; un_wp_page(table_entry): give the current task a writable page for a shared one
un_wp_page:
        push ebx
        push esi
        push edi
        mov ebx, [esp + 16]             ; -> page-table entry
        mov esi, [ebx]
        and esi, 0xfffff000             ; old page
        cmp esi, LOW_MEM
        jb .copy
        mov eax, esi
        sub eax, LOW_MEM
        shr eax, 12
        cmp byte [mem_map + eax], 1
        jne .copy
        or dword [ebx], 2               ; the last user: write access back, no copy
        INVALIDATE
        inc dword [cow_nocopy]
        mov eax, [current]
        inc dword [eax + T_COW_NOCOPY]
        jmp .out
.copy:  call get_free_page
        test eax, eax
        jz .oom
        mov edi, eax                    ; new page
        cmp esi, LOW_MEM
        jb .uncounted
        mov eax, esi
        sub eax, LOW_MEM
        shr eax, 12
        dec byte [mem_map + eax]
.uncounted:
        mov eax, edi
        or eax, 7
        mov [ebx], eax
        INVALIDATE
        mov ecx, 1024                   ; copy_page(old, new)
        cld
        rep movsd
        inc dword [cow_copies]
        mov eax, [current]
        inc dword [eax + T_COW_COPIES]
.out:   pop edi
        pop esi
        pop ebx
        ret
.oom:   call oom

; do_wp_page(error_code, address): a write to a present, read-only page
do_wp_page:
        inc dword [cow_faults]
        mov eax, [current]
        inc dword [eax + T_COW_FAULTS]
        mov eax, [esp + 8]              ; address
        mov edx, eax
        shr edx, 20
        and edx, 0xffc
        mov edx, [edx]                  ; directory entry
        and edx, 0xfffff000
        shr eax, 10
        and eax, 0xffc
        add eax, edx                    ; -> page-table entry
        push eax
        call un_wp_page
        add esp, 4
        ret

; write_verify(address): before the kernel writes into user memory — at privilege 0 the
; i386 ignores the R/W bit, so copy-on-write has to be done by hand
write_verify:
        mov eax, [esp + 4]
        mov edx, eax
        shr edx, 20
        and edx, 0xffc
        mov edx, [edx]
        test edx, 1
        jz .out
        and edx, 0xfffff000
        shr eax, 10
        and eax, 0xffc
        add eax, edx                    ; -> page-table entry
        mov edx, [eax]
        and edx, 3
        cmp edx, 1                      ; present and read-only
        jne .out
        inc dword [cow_verify]
        push eax
        call un_wp_page
        add esp, 4
.out:   ret

; get_empty_page(address): a fresh zeroed page mapped at address
get_empty_page:
        call get_free_page
        test eax, eax
        jz .oom
        push eax
        push dword [esp + 8]
        push eax
        call put_page
        add esp, 8
        pop edx
        test eax, eax
        jnz .out
        push edx
        call free_page
        add esp, 4
.oom:   call oom
.out:   ret

; do_no_page(error_code, address): forklab runs no executables from disk, so a missing
; page is always a fresh zeroed one (Linux 0.11's path for tasks without an executable).
; One check Linux 0.11 leaves to the hardware: an i386 raises #GP for an offset beyond the
; segment limit before any page is looked at, but some emulators (QEMU's TCG) skip data
; limit checks; a user fault beyond the limit is therefore treated as the #GP it should
; have been, so a stray user write still kills the task instead of growing it.
; Stack: [esp+4] error, [esp+8] address, then page_fault's frame: [esp+12] fs, es, ds,
; edx, ecx, [esp+32] eax, [esp+36] eip, cs, eflags, esp, ss.
do_no_page:
        test byte [esp + 40], 3
        jz .map
        mov edx, [current]
        lea edx, [edx + T_LDT + 16]
        call get_base
        mov ecx, [esp + 8]
        sub ecx, eax                    ; offset in the data segment
        mov edx, USER_DS
        lsl eax, edx
        cmp ecx, eax
        ja beyond_segment
.map:   inc dword [no_page_faults]
        mov eax, [esp + 8]
        and eax, 0xfffff000
        push eax
        call get_empty_page
        add esp, 4
        ret

; beyond_segment: the oops for a user access outside its segment, then do_exit(11)
beyond_segment:
        lea ebx, [esp + 36]             ; -> eip, cs, eflags, esp, ss
        NEWLINE
        PRINT "general protection (segment limit): address "
        mov eax, [esp + 8]
        call print_hex
        NEWLINE
        mov edx, .regs
        jmp oops
.regs:  SHOW_REGS "EAX: ", -4, " ECX: ", -8, " EDX: ", -12      ; what page_fault saved
        NEWLINE
        ret

; oom(): out of memory — the task dies with SIGSEGV
oom:
        PRINTLN "out of memory"
        push SIGSEGV
        call do_exit

; page_fault (exception 14): CR2 is the linear address, the error code says why
page_fault:
        xchg [esp], eax                 ; eax = error code, its slot keeps eax
        SAVE_CLOBBERED
        mov edx, cr2
        push edx
        push eax
        test eax, 1
        jnz .protection
        call do_no_page
        jmp .done
.protection:
        call do_wp_page
.done:  add esp, 8
        RESTORE_CLOBBERED_IRET

HIGH_MEMORY:    dd 0
cow_faults:     dd 0                    ; do_wp_page calls
cow_copies:     dd 0                    ; pages copied by un_wp_page
cow_nocopy:     dd 0                    ; pages made writable without a copy
cow_shared:     dd 0                    ; entries shared by copy_page_tables
no_page_faults: dd 0                    ; do_no_page calls
cow_verify:     dd 0                    ; read-only pages handed to un_wp_page by write_verify
