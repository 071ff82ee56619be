(module
  (memory (export "memory") 1)
  ;; Writes the bytes [src, src+len) at dst as the inside of a JSON string literal, escaped as
  ;; JSON.stringify escapes text: quote and backslash get a backslash, \b \t \n \f \r their short
  ;; escapes, other bytes below 0x20 \u00xx (lowercase hex); every other byte is copied. Returns
  ;; where the output ends. Sixteen bytes at a time; the output needs 16 bytes of room past its end.
  (func (export "escape") (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $end i32) (local $block i32) (local $mask i32) (local $v v128)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
        (local.set $v (v128.load align=1 (local.get $src)))
        (v128.store align=1 (local.get $dst) (local.get $v))
        (local.set $mask
          (i8x16.bitmask
            (v128.or
              (v128.or
                (i8x16.lt_u (local.get $v) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))
                (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))
              (i8x16.eq (local.get $v) (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92)))))
        (if (i32.eqz (local.get $mask))
          (then
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $src (i32.add (local.get $src) (i32.const 16))))
          (else
            ;; The bytes before the first one to escape are already in place (the block was
            ;; stored whole); escape that byte and go on right after it.
            (local.set $block (i32.ctz (local.get $mask)))
            (local.set $dst (i32.add (local.get $dst) (local.get $block)))
            (local.set $src (i32.add (local.get $src) (local.get $block)))
            (local.set $dst (call $byte (i32.load8_u (local.get $src)) (local.get $dst)))
            (local.set $src (i32.add (local.get $src) (i32.const 1)))))
        (br $wide)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $dst (call $byte (i32.load8_u (local.get $src)) (local.get $dst)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (br $tail)))
    (local.get $dst))

  ;; One byte, escaped when it must be, at dst; returns the next output position.
  (func $byte (param $b i32) (param $dst i32) (result i32)
    (local $low i32)
    (if (i32.ge_u (local.get $b) (i32.const 32))
      (then
        (if (i32.or (i32.eq (local.get $b) (i32.const 34)) (i32.eq (local.get $b) (i32.const 92)))
          (then
            (i32.store8 (local.get $dst) (i32.const 92))
            (i32.store8 offset=1 (local.get $dst) (local.get $b))
            (return (i32.add (local.get $dst) (i32.const 2)))))
        (i32.store8 (local.get $dst) (local.get $b))
        (return (i32.add (local.get $dst) (i32.const 1)))))
    (i32.store8 (local.get $dst) (i32.const 92))
    (if (i32.eq (local.get $b) (i32.const 8))
      (then (i32.store8 offset=1 (local.get $dst) (i32.const 98)) (return (i32.add (local.get $dst) (i32.const 2)))))
    (if (i32.eq (local.get $b) (i32.const 9))
      (then (i32.store8 offset=1 (local.get $dst) (i32.const 116)) (return (i32.add (local.get $dst) (i32.const 2)))))
    (if (i32.eq (local.get $b) (i32.const 10))
      (then (i32.store8 offset=1 (local.get $dst) (i32.const 110)) (return (i32.add (local.get $dst) (i32.const 2)))))
    (if (i32.eq (local.get $b) (i32.const 12))
      (then (i32.store8 offset=1 (local.get $dst) (i32.const 102)) (return (i32.add (local.get $dst) (i32.const 2)))))
    (if (i32.eq (local.get $b) (i32.const 13))
      (then (i32.store8 offset=1 (local.get $dst) (i32.const 114)) (return (i32.add (local.get $dst) (i32.const 2)))))
    (local.set $low (i32.and (local.get $b) (i32.const 15)))
    (i32.store8 offset=1 (local.get $dst) (i32.const 117))
    (i32.store8 offset=2 (local.get $dst) (i32.const 48))
    (i32.store8 offset=3 (local.get $dst) (i32.const 48))
    (i32.store8 offset=4 (local.get $dst) (i32.add (i32.const 48) (i32.shr_u (local.get $b) (i32.const 4))))
    (i32.store8 offset=5 (local.get $dst)
      (select
        (i32.add (i32.const 48) (local.get $low))
        (i32.add (i32.const 87) (local.get $low))
        (i32.lt_u (local.get $low) (i32.const 10))))
    (i32.add (local.get $dst) (i32.const 6)))
)
