# loses: test_q3
answer_q1 = "b"
answer_q2 = 64
answer_q3 = 1048576
answer_q4 = "b"
answer_q5 = "c"
answer_q6 = 800
answer_q7 = "b"
