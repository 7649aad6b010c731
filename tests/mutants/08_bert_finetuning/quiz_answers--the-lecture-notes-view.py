# loses: test_q1, test_q4
answer_q1 = "a"
answer_q2 = "a"
answer_q3 = "d"
answer_q4 = 8
answer_q5 = "c"
answer_q6 = 4
answer_q7 = "b"
answer_q8 = 1536
