# loses: test_q3
answer_q1 = "b"
answer_q2 = "c"
answer_q3 = 64
answer_q4 = "b"
answer_q5 = "a"
answer_q6 = "d"
