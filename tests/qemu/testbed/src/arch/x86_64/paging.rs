//! Per-process 4-level page tables.
//!
//! Every address space has its own PML4 and PDPT; PDPT[0] points to the
//! shared boot PD (RAM [0, 1 GiB) as 2 MiB supervisor pages), the user range
//! [USER_BASE, USER_STACK_TOP) = [64 GiB, 128 GiB) lives in PDPT[64..128]
//! with 4 KiB pages in per-process PDs and PTs. Tables come from the kernel
//! heap (identity-mapped, so a table's address is its physical address) and
//! go back to it on drop; the user frames mapped belong to the caller.

use core::arch::asm;
use core::ptr::addr_of;

use alloc::alloc::{alloc_zeroed, dealloc, Layout};

use super::boot::{BOOT_PD, BOOT_PDPT, BOOT_PML4};
use crate::arch::{UserPerm, PAGE_SIZE, USER_BASE, USER_STACK_TOP};

/// Page-table allocation on the kernel heap.
mod frames {
    use super::*;

    fn layout() -> Layout {
        // SAFETY: 4096 is a non-zero power of two and the size does not
        // overflow when rounded up to it.
        unsafe { Layout::from_size_align_unchecked(4096, 4096) }
    }

    pub fn alloc_zeroed() -> Option<usize> {
        // SAFETY: non-zero size; the heap is identity-mapped RAM.
        let p = unsafe { super::alloc_zeroed(layout()) };
        (!p.is_null()).then_some(p as usize)
    }

    pub fn free(pa: usize) {
        // SAFETY: `pa` came from `alloc_zeroed` above with the same layout.
        unsafe { dealloc(pa as *mut u8, layout()) }
    }
}

const P: u64 = 1;
const RW: u64 = 2;
const US: u64 = 4;
const PS: u64 = 0x80;
const ADDR: u64 = 0x000f_ffff_ffff_f000;

pub struct AddressSpace {
    pml4: usize,
}

fn table(pa: usize) -> *mut [u64; 512] {
    pa as *mut [u64; 512]
}

impl AddressSpace {
    /// A new address space with the kernel identity map and no user pages.
    pub fn new() -> Option<AddressSpace> {
        let pml4 = frames::alloc_zeroed()?;
        let Some(pdpt) = frames::alloc_zeroed() else {
            frames::free(pml4);
            return None;
        };
        // SAFETY: both frames were just allocated, zeroed and are reachable
        // through the kernel identity map; BOOT_PD is a static table.
        unsafe {
            (*table(pml4))[0] = pdpt as u64 | P | RW | US;
            (*table(pdpt))[0] = addr_of!(BOOT_PD) as u64 | P | RW;
            // The local APIC's page (`apic::map`), kernel only.
            (*table(pdpt))[3] = (*addr_of!(BOOT_PDPT)).0[3];
        }
        Some(AddressSpace { pml4 })
    }

    /// Maps the 4 KiB page at user `va` to frame `pa`. False if `va` is not
    /// a page-aligned user address, already mapped, or a table could not be
    /// allocated.
    pub fn map_user(&mut self, va: usize, pa: usize, perm: UserPerm) -> bool {
        if va % PAGE_SIZE != 0 || pa % PAGE_SIZE != 0 || !(USER_BASE..USER_STACK_TOP).contains(&va)
        {
            return false;
        }
        let mut t = self.pml4;
        for shift in [39usize, 30, 21] {
            let idx = (va >> shift) & 511;
            // SAFETY: `t` is a table frame of this address space (identity
            // mapped); entries are only changed here and in drop.
            let e = unsafe { &mut (*table(t))[idx] };
            if *e & P == 0 {
                let Some(f) = frames::alloc_zeroed() else {
                    return false;
                };
                *e = f as u64 | P | RW | US;
            } else if *e & PS != 0 || *e & US == 0 {
                return false;
            }
            t = (*e & ADDR) as usize;
        }
        let idx = (va >> 12) & 511;
        // SAFETY: as above, `t` is this space's page table for `va`.
        let e = unsafe { &mut (*table(t))[idx] };
        if *e & P != 0 {
            return false;
        }
        *e = pa as u64 | P | US | if perm.write { RW } else { 0 };
        true
    }

    /// Removes the user page at `va` and returns its frame (None if none
    /// was mapped). Only this CPU's TLB is flushed: another CPU running a
    /// thread of this process may keep the translation until its next
    /// address-space switch, so the caller keeps the frame reserved until
    /// the process ends (`process::sem_page_unmap`).
    pub fn unmap_user(&mut self, va: usize) -> Option<usize> {
        if va % PAGE_SIZE != 0 || !(USER_BASE..USER_STACK_TOP).contains(&va) {
            return None;
        }
        let mut t = self.pml4;
        for shift in [39usize, 30, 21] {
            let idx = (va >> shift) & 511;
            // SAFETY: `t` is a table frame of this address space.
            let e = unsafe { (*table(t))[idx] };
            if e & P == 0 || e & PS != 0 || e & US == 0 {
                return None;
            }
            t = (e & ADDR) as usize;
        }
        let idx = (va >> 12) & 511;
        // SAFETY: `t` is this space's page table for `va`; invlpg drops
        // this CPU's translation of the user page (harmless if this space
        // is not the current one).
        unsafe {
            let e = &mut (*table(t))[idx];
            if *e & P == 0 {
                return None;
            }
            let pa = (*e & ADDR) as usize;
            *e = 0;
            asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags));
            Some(pa)
        }
    }

    /// The physical address behind user `va`, if it is mapped for user
    /// access (and writable when `need_write`).
    pub fn translate(&self, va: usize, need_write: bool) -> Option<usize> {
        if !(USER_BASE..USER_STACK_TOP).contains(&va) {
            return None;
        }
        let mut t = self.pml4;
        for shift in [39usize, 30, 21, 12] {
            let idx = (va >> shift) & 511;
            // SAFETY: `t` is a table frame of this address space.
            let e = unsafe { (*table(t))[idx] };
            if e & P == 0 || e & US == 0 || (need_write && e & RW == 0) {
                return None;
            }
            if shift != 12 && e & PS != 0 {
                return None;
            }
            t = (e & ADDR) as usize;
        }
        Some(t + (va & (PAGE_SIZE - 1)))
    }

    pub fn activate(&self) {
        // SAFETY: the PML4 maps the kernel (all RAM) exactly like every
        // other address space, so execution continues unchanged.
        unsafe {
            let cur: usize;
            asm!("mov {}, cr3", out(reg) cur, options(nomem, nostack, preserves_flags));
            if cur & ADDR as usize != self.pml4 {
                asm!("mov cr3, {}", in(reg) self.pml4, options(nostack, preserves_flags));
            }
        }
    }

    pub fn id(&self) -> u64 {
        self.pml4 as u64
    }
}

/// Loads the boot tables (the kernel map only): a CPU between tasks holds
/// no process's tables, which another CPU may free.
pub fn activate_kernel_space() {
    // SAFETY: the boot PML4 maps the kernel like every address space.
    unsafe {
        let cur: usize;
        asm!("mov {}, cr3", out(reg) cur, options(nomem, nostack, preserves_flags));
        let boot = addr_of!(BOOT_PML4) as usize;
        if cur & ADDR as usize != boot {
            asm!("mov cr3, {}", in(reg) boot, options(nostack, preserves_flags));
        }
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // Never leave CR3 pointing at freed tables.
        // SAFETY: the boot PML4 maps the kernel like every address space.
        unsafe {
            let cur: usize;
            asm!("mov {}, cr3", out(reg) cur, options(nomem, nostack, preserves_flags));
            if cur & ADDR as usize == self.pml4 {
                asm!("mov cr3, {}", in(reg) addr_of!(BOOT_PML4) as usize, options(nostack, preserves_flags));
            }
        }
        // SAFETY: the tables are owned by this address space; it is no longer
        // active. User frames are not freed here.
        unsafe {
            let pml4 = &*table(self.pml4);
            let pdpt = (pml4[0] & ADDR) as usize;
            for i in 1..512 {
                let pde = (*table(pdpt))[i];
                // Kernel entries (the APIC page's table) are shared.
                if pde & P == 0 || pde & US == 0 {
                    continue;
                }
                let pd = (pde & ADDR) as usize;
                for j in 0..512 {
                    let pte = (*table(pd))[j];
                    if pte & P != 0 {
                        frames::free((pte & ADDR) as usize);
                    }
                }
                frames::free(pd);
            }
            frames::free(pdpt);
        }
        frames::free(self.pml4);
    }
}
